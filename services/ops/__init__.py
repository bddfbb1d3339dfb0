"""Tools for the people who run Newswire: the pipeline's state on one screen."""
