"""Where the tests find the repository's files, whatever folder a test module sits in."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
WXR_FIXTURE = FIXTURES / "wordpress-export.xml"
README = ROOT / "README.md"
PUBLIC_VECTORS = ROOT.parent / "shared" / "xss" / "public-vectors.jsonl"
