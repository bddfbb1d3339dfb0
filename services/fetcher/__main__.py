import asyncio

from services.common.faustapp import run_worker
from services.common.logging import setup_logging
from services.common.settings import load_settings


def main() -> None:
    from services.fetcher.app import build
    from services.fetcher.bootstrap import bootstrap_feeds

    settings = load_settings()
    setup_logging(
        settings.log_level,
        throttle_window_seconds=settings.log_throttle_window_seconds,
        throttle_max_causes=settings.log_throttle_max_causes,
    )
    asyncio.run(bootstrap_feeds(settings))
    run_worker(build(settings))


if __name__ == "__main__":
    main()
