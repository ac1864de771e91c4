"""Where the tests find the repository's files, whatever folder a test module sits in."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
WXR_FIXTURE = FIXTURES / "wordpress-export.xml"
WXR_CONTENT_FIXTURE = FIXTURES / "wordpress-content.xml"  # issue 16: content as WordPress shows it
README = ROOT / "README.md"
PUBLIC_VECTORS = ROOT.parent / "shared" / "xss" / "public-vectors.jsonl"
