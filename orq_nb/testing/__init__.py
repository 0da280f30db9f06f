"""The top layer, used by tests, notebooks and benchmarks only: a fake orq.ai server and synthetic data.

``FakeOrqServer`` speaks the real wire format on loopback; ``generate_sessions``
makes realistic session records in either key style.
"""

from orq_nb.testing.fake_server import SAMPLE_NOW, Exchange, FakeOrqServer, Fault, fake_orq
from orq_nb.testing.synthetic import generate_sessions

__all__ = ["FakeOrqServer", "Fault", "Exchange", "fake_orq", "SAMPLE_NOW", "generate_sessions"]
