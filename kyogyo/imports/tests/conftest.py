import pytest


@pytest.fixture(autouse=True)
def import_dir(settings, tmp_path):
    """Error files of every import test go to the test's own directory."""
    settings.KYOGYO_IMPORT_DIR = tmp_path / "imports"
    return settings.KYOGYO_IMPORT_DIR
