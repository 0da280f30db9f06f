"""The top layer, used by tests, notebooks and benchmarks only: a fake orq.ai server and synthetic data.

``FakeOrqServer`` speaks the real wire format on loopback; ``generate_sessions``
makes realistic session records in either key style.
"""

from orq_nb.testing import fake_server as _fake_server
from orq_nb.testing.fake_server import Exchange, FakeOrqServer, Fault, fake_orq
from orq_nb.testing.synthetic import generate_sessions

#: The bundled sample's "now": its sessions start in the 90 days before it (what the fake server takes as
#: the present, so that its relative intervals select the sample as they would select live data).
SAMPLE_NOW = _fake_server.SAMPLE_NOW

__all__ = ["FakeOrqServer", "Fault", "Exchange", "fake_orq", "SAMPLE_NOW", "generate_sessions"]
