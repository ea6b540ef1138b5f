from tests.api.conftest import api  # noqa: F401 (the API client per persona)
from tests.wandb_api.conftest import gql  # noqa: F401 (/graphql with a persona's key)
