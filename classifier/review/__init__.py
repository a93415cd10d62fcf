"""A local review page: a person confirms or corrects the model's topic, guideline and avoidable decision.

Two queues: a seeded **random sample** (the only one that feeds the corrected estimates of
:mod:`classifier.estimate`) and an **uncertainty-first** queue (lowest confidence, smallest
margin, least certain coverage first) whose reviews are for retraining. Every decision is
appended to the reviewed file at once (flushed and fsynced), so a closed browser, a killed
server or a power cut loses at most the decision being made; a restart resumes where the
reviewer stopped; a later decision on the same request supersedes the earlier line (both
are kept; the last wins).

The parts, in the order a request passes through them:

- :mod:`.queues`: which requests are reviewed, in which order (the seeded random sample,
  the uncertainty-first queue);
- :mod:`.session`: what the page shows for a request, what a decision writes, undo and
  resume, and the append-only reviewed file (:class:`ReviewLog`);
- :mod:`.server`: the local HTTP server with its token, Host and Origin checks;
- ``static/``: the page itself (HTML, CSS, JavaScript), served from the package.
"""

from .queues import QUEUES, build_queues, certainty
from .server import make_server
from .session import ReviewError, ReviewLog, ReviewSession, decide_avoidable, load_session

__all__ = ["QUEUES", "ReviewError", "ReviewLog", "ReviewSession", "build_queues", "certainty", "decide_avoidable",
           "load_session", "make_server"]
