import asyncio

from services.common.faustapp import run_worker
from services.common.logging import setup_logging_from
from services.common.settings import load_settings


def main() -> None:
    from services.fetcher.app import build
    from services.fetcher.bootstrap import bootstrap_feeds

    settings = load_settings()
    setup_logging_from(settings, "fetcher")
    asyncio.run(bootstrap_feeds(settings))
    run_worker(build(settings))


if __name__ == "__main__":
    main()
