from tests.api.conftest import api  # noqa: F401 (the API client per persona)
from tests.automations.conftest import receiver  # noqa: F401 (a real HTTP receiver on 127.0.0.1)
from tests.wandb_api.conftest import gql  # noqa: F401 (/graphql with a persona's key)
