"""pip-audit over the pinned requirements, summed up in one line.

Fails on a known vulnerability. Passes, saying so, when PyPI's advisory
service cannot be reached or does not know a pinned version (nothing to
compare it with), so an offline CI box is not red for a network reason.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path(sys.executable).parent


def main() -> int:
    """Run pip-audit; 1 when a dependency has a known vulnerability."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp, "audit.json")
        done = subprocess.run(
            [
                str(BIN / "pip-audit"),
                "--disable-pip",
                "--no-deps",
                "--progress-spinner=off",
                "--format=json",
                f"--output={report}",
                "-r",
                "requirements.txt",
                "-r",
                "requirements-dev.txt",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if not report.exists():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            print(f"audit: pip-audit skipped, advisory service unreachable: {last}")
            return 0
        deps = json.loads(report.read_text())["dependencies"]
    unknown = [d["name"] for d in deps if "skip_reason" in d]
    vulnerable = [
        f"{d['name']} {d['version']}: {', '.join(v['id'] for v in d['vulns'])}"
        for d in deps
        if d.get("vulns")
    ]
    print(
        f"audit: pip-audit checked {len(deps) - len(unknown)} of {len(deps)} pinned"
        f" packages, {len(vulnerable)} vulnerable; {len(unknown)} versions unknown"
        " to PyPI's advisory service were not checked"
    )
    for line in vulnerable:
        print(f"audit: {line}")
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
