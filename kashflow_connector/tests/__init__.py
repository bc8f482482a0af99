from . import test_settings, test_sync
