"""pb.tally: the pure tally engine (standard library only; nothing else from pb).

Read a pabulib file with :func:`load`/:func:`loads`, run a rule by name with :func:`tally` or call
a rule function directly, and publish ``Outcome.to_json_dict()``.
"""

from pb.tally.errors import BallotError, PabulibError, RuleError, TallyError
from pb.tally.funding import (
    MatchingRule,
    ProjectAggregate,
    capped_matching,
    compute_matches,
    marginal_estimate,
    quadratic_funding,
)
from pb.tally.greedy import greedy, greedy_no_skip, greedy_threshold
from pb.tally.mes import (
    equal_shares,
    equal_shares_add1,
    equal_shares_add1_comparison,
    equal_shares_comparison,
)
from pb.tally.model import Ballot, Election, Project, ReadWarning
from pb.tally.outcome import Outcome, ProjectResult, Step, Tie, canonical_json
from pb.tally.pabulib import dump, dumps, load, loads
from pb.tally.quadratic import quadratic_cost, validate_quadratic_ballot
from pb.tally.rules import RULES, tally
from pb.tally.tiebreak import DEFAULT_TIE_BREAK, TieBreak, natural_key

__all__ = [
    "DEFAULT_TIE_BREAK",
    "RULES",
    "Ballot",
    "BallotError",
    "Election",
    "MatchingRule",
    "Outcome",
    "PabulibError",
    "Project",
    "ProjectAggregate",
    "ProjectResult",
    "ReadWarning",
    "RuleError",
    "Step",
    "TallyError",
    "Tie",
    "TieBreak",
    "canonical_json",
    "capped_matching",
    "compute_matches",
    "dump",
    "dumps",
    "equal_shares",
    "equal_shares_add1",
    "equal_shares_add1_comparison",
    "equal_shares_comparison",
    "greedy",
    "greedy_no_skip",
    "greedy_threshold",
    "load",
    "loads",
    "marginal_estimate",
    "natural_key",
    "quadratic_cost",
    "quadratic_funding",
    "tally",
    "validate_quadratic_ballot",
]
