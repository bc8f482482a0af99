from . import test_settings
from . import test_sync
from . import test_companies_and_access
from . import test_browser_journey
