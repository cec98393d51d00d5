"""The CI files users copy, checked against their platforms' schemas with check-jsonschema's
built-in (vendored) schemas: action.yml (GitHub Actions metadata), the workflows in examples/
(GitHub workflows), and the GitLab component and examples (GitLab CI). A GitLab component is
two YAML documents (its `spec:` header, then the jobs): each is checked on its own. actionlint
runs too when it is installed; when it is not, this says it skipped it.

Run: python tests/conformance/ci_files.py (from the repository root, with check-jsonschema on
PATH or next to this Python).
"""

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

CHECKS = [
    ("vendor.github-actions", ["action.yml"]),
    ("vendor.github-workflows", [
        "examples/ci/github-actions.yml",
        "examples/ci/github-action-uses.yml",
        "examples/schedule/github-actions.yml",
        ".github/workflows/release.yml",
    ]),
    ("vendor.gitlab-ci", [
        "templates/renewctl.yml",
        "examples/ci/gitlab-ci.yml",
        "examples/ci/gitlab-component.yml",
        "examples/schedule/gitlab-ci.yml",
    ]),
]


def tool(name):
    beside = os.path.join(os.path.dirname(sys.executable), name)
    return beside if os.path.exists(beside) else shutil.which(name)


def documents(path, into):
    """The YAML documents of `path`, each written to its own file in `into`."""
    with open(path, encoding="utf-8") as src:
        text = src.read()
    parts = [p for p in text.split("\n---\n")]
    out = []
    for i, part in enumerate(parts):
        target = os.path.join(into, f"{os.path.basename(path)}.{i}.yml")
        with open(target, "w", encoding="utf-8") as dst:
            dst.write(part)
        out.append(target)
    return out


def main():
    checker = tool("check-jsonschema")
    if checker is None:
        print("check-jsonschema is not installed: pip install check-jsonschema", file=sys.stderr)
        return 1
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for schema, files in CHECKS:
            paths = []
            for f in files:
                paths += documents(os.path.join(ROOT, f), tmp)
            result = subprocess.run([checker, "--builtin-schema", schema, *paths])
            print(f"{'ok' if result.returncode == 0 else 'FAILED'}  {schema}: {', '.join(files)}", flush=True)
            failed += result.returncode != 0
    actionlint = shutil.which("actionlint")
    if actionlint:
        workflows = [os.path.join(ROOT, f) for f in CHECKS[1][1]]
        result = subprocess.run([actionlint, *workflows])
        print(f"{'ok' if result.returncode == 0 else 'FAILED'}  actionlint", flush=True)
        failed += result.returncode != 0
    else:
        print("note: actionlint is not installed (not in the registries CI reaches); skipped it")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
