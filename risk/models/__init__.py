"""Risk's data: rule sets and their versions, lists, pre-trade controls, decisions, review
cases and risk events. Workflows live in risk.services."""

from risk.models.controls import Control
from risk.models.decisions import Decision, ReviewCase
from risk.models.events import Backtest, RiskEvent
from risk.models.lists import RiskList, RiskListEntry
from risk.models.rules import ConfigStamp, Rule, RuleSet, RuleSetVersion, ScoringMark

__all__ = [
    "Backtest",
    "ConfigStamp",
    "Control",
    "Decision",
    "ReviewCase",
    "RiskEvent",
    "RiskList",
    "RiskListEntry",
    "Rule",
    "RuleSet",
    "RuleSetVersion",
    "ScoringMark",
]
