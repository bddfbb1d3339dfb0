from services.common.faustapp import run_worker
from services.common.logging import setup_logging_from
from services.common.settings import load_settings


def main() -> None:
    from services.dedup.app import build

    settings = load_settings()
    setup_logging_from(settings, "dedup")
    run_worker(build(settings))


if __name__ == "__main__":
    main()
