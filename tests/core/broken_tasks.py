"""A job module with a broken import, for test_load_job_modules_skips_missing_modules_only."""

import socialsell_no_such_package  # type: ignore[import-not-found]  # noqa: F401
