"""Lending: offers (limits, risk-based prices under the rate cap, repayment schedules) and the
loan after approval (delinquency buckets, roll rates, vintages, behaviour scores, collections,
marketing lists)."""

from __future__ import annotations

from ruleplus.lending.behaviour import BehaviourModel, behaviour_features, fit_behaviour
from ruleplus.lending.campaign import Campaign, build_campaign
from ruleplus.lending.collections import QueueItem, collections_queue, queue_summary
from ruleplus.lending.delinquency import BUCKETS
from ruleplus.lending.offers import Offer, OfferDecline, make_offer, quote_application
from ruleplus.lending.rates import apr_irr, effective_annual_rate, flat_rate_apr, irr
from ruleplus.lending.rollrate import RollRates, roll_rates
from ruleplus.lending.schedule import Fee, Instalment, Schedule, build_schedule, repay_early
from ruleplus.lending.status_data import StatusColumns, StatusData, read_status, status_data
from ruleplus.lending.vector import offers_frame, offers_summary
from ruleplus.lending.vintage import Vintages, vintages

__all__: list[str] = [
    "BUCKETS",
    "BehaviourModel",
    "Campaign",
    "Fee",
    "Instalment",
    "Offer",
    "OfferDecline",
    "QueueItem",
    "RollRates",
    "Schedule",
    "StatusColumns",
    "StatusData",
    "Vintages",
    "apr_irr",
    "behaviour_features",
    "build_campaign",
    "build_schedule",
    "collections_queue",
    "effective_annual_rate",
    "fit_behaviour",
    "flat_rate_apr",
    "irr",
    "make_offer",
    "offers_frame",
    "offers_summary",
    "queue_summary",
    "quote_application",
    "read_status",
    "repay_early",
    "roll_rates",
    "status_data",
    "vintages",
]
