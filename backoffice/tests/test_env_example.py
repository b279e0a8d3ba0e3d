""".env.example documents every variable the code reads."""

import re
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent
READERS = re.compile(
    r'(?:env\.(?:str|int|bool|float|list|path|email_url)|database_config|redis_url|required'
    r'|os\.environ\.(?:get|setdefault))\(\s*"([A-Z][A-Z0-9_]+)"'
)
# Set by the launcher or the test tooling, not by whoever configures the project.
NOT_CONFIGURATION = {"DJANGO_ALLOW_ASYNC_UNSAFE", "TEST_RUN_CLAIM", "TEST_REDIS_URLS",
                     "PYTEST_XDIST_WORKER"}


def test_every_environment_variable_is_documented():
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (BASE_DIR / ".env.example")
                                .read_text(), flags=re.M))
    read = set()
    for path in BASE_DIR.glob("**/*.py"):
        if ".venv" in path.parts or "var" in path.parts:
            continue
        read |= set(READERS.findall(path.read_text()))

    assert read, "the pattern found no variable at all"
    missing = sorted(read - documented - NOT_CONFIGURATION)
    assert not missing, f"add these to .env.example: {missing}"
