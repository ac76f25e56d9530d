"""Synthetic consumer-loan applications for an online consumer-finance lender.

The generator draws a whole portfolio at once with numpy (a million rows in a few seconds) from
a small, fixed "world": twelve partner platforms with their own channel mix, product mix and
risk level, young online customers, multi-borrowing, fraud rings that share devices, phones
and IP addresses. A latent creditworthiness factor drives the bureau score, delinquencies,
inquiries, utilisation and existing loans, so the observed fields are correlated the way they
are in real books; the outcome ``defaulted`` is then drawn from a logistic model of the
observed risk drivers plus unobserved noise, and ``defaultProb`` keeps that latent probability.

The same ``seed`` always gives the same frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = ["APPLICATION_SCHEMA", "synth_applications"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Column names and dtypes of :func:`synth_applications`, in order.
APPLICATION_SCHEMA = pl.Schema(
    {
        "applicantId": pl.String(),
        "applicationTime": pl.Datetime("us"),
        "partner": pl.String(),
        "channel": pl.String(),
        "product": pl.String(),
        "purpose": pl.String(),
        "loanAmount": pl.Int64(),
        "termMonths": pl.Int64(),
        "birthDate": pl.Date(),
        "age": pl.Int64(),
        "gender": pl.String(),
        "residentialStatus": pl.String(),
        "employmentType": pl.String(),
        "employmentYears": pl.Float64(),
        "monthlyIncome": pl.Int64(),
        "monthlyDebt": pl.Int64(),
        "creditScore": pl.Int64(),
        "delinquencies24m": pl.Int64(),
        "inquiries6m": pl.Int64(),
        "utilization": pl.Float64(),
        "existingLoans": pl.Int64(),
        "deviceId": pl.String(),
        "phone": pl.String(),
        "ipAddress": pl.String(),
        "defaultProb": pl.Float64(),
        "defaulted": pl.Int64(),
    }
)

_START = np.datetime64("2023-01-01T00:00:00", "us")
_DAYS = 730
_WORLD_SEED = 20_240_601  # partner profiles are part of the world, not of the sample

CHANNELS = ("app", "web", "h5", "api", "offline")
PRODUCTS = ("cash_loan", "installment", "credit_line")
PURPOSES = (
    "consumer_goods", "education", "travel", "medical", "home",
    "car", "debt_consolidation", "business", "other",
)  # fmt: skip
EMPLOYMENT = (
    "salaried", "self_employed", "gig_worker", "civil_servant", "student", "unemployed", "retired",
)  # fmt: skip
RESIDENCE = ("family", "rent", "own", "mortgage")
TERMS = (3, 6, 12, 24, 36, 48, 60, 84)
N_PARTNERS = 12

_HOURLY = np.array(
    [2, 1, 1, 1, 1, 1, 2, 3, 5, 6, 7, 7, 7, 6, 6, 6, 6, 6, 7, 8, 9, 10, 9, 5], dtype=np.float64
)
# rows: age bands <23, 23-29, 30-49, 50+
_EMPLOYMENT_BY_AGE = np.array(
    [
        [0.38, 0.05, 0.15, 0.02, 0.32, 0.08, 0.00],
        [0.62, 0.09, 0.13, 0.06, 0.04, 0.06, 0.00],
        [0.60, 0.17, 0.09, 0.08, 0.00, 0.06, 0.00],
        [0.45, 0.18, 0.05, 0.08, 0.00, 0.08, 0.16],
    ]
)
_RESIDENCE_BY_AGE = np.array(
    [[0.55, 0.40, 0.03, 0.02], [0.30, 0.50, 0.07, 0.13], [0.12, 0.40, 0.15, 0.33],
     [0.05, 0.25, 0.35, 0.35]]
)  # fmt: skip
_INCOME_MEDIAN = np.array([8000, 9000, 5500, 9000, 1500, 1200, 3500], dtype=np.float64)
_EMPLOYMENT_LOGIT = np.array([0.0, 0.2, 0.35, -0.5, 0.5, 0.9, 0.1])
_PURPOSE_BY_PRODUCT = np.array(
    [
        [0.15, 0.08, 0.08, 0.10, 0.12, 0.04, 0.25, 0.12, 0.06],  # cash_loan
        [0.55, 0.12, 0.10, 0.08, 0.10, 0.05, 0.00, 0.00, 0.00],  # installment
        [0.40, 0.02, 0.10, 0.03, 0.05, 0.00, 0.10, 0.10, 0.20],  # credit_line
    ]
)
_TERM_BY_PRODUCT = np.array(
    [
        [0.05, 0.15, 0.35, 0.25, 0.12, 0.04, 0.03, 0.01],  # cash_loan
        [0.20, 0.25, 0.30, 0.15, 0.07, 0.02, 0.01, 0.00],  # installment
        [0.00, 0.00, 0.60, 0.25, 0.15, 0.00, 0.00, 0.00],  # credit_line
        [0.00, 0.00, 0.05, 0.20, 0.35, 0.20, 0.15, 0.05],  # any car purpose
    ]
)
_AMOUNT_TO_INCOME = np.array([2.0, 0.8, 1.5])
_CHANNEL_LOGIT = np.array([0.0, 0.1, 0.2, 0.3, -0.2])
_MOBILE_PREFIXES = np.array(
    [130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158,
     159, 166, 173, 176, 177, 180, 181, 182, 183, 185, 186, 187, 188, 189, 191, 198, 199]
)  # fmt: skip
_IP_FIRST_OCTETS = np.array(
    [36, 39, 42, 58, 60, 61, 101, 106, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120,
     121, 122, 123, 124, 125, 180, 182, 183, 202, 210, 211, 218, 219, 220, 221, 222, 223]
)  # fmt: skip
_INTERCEPT = -4.95
_RING_SHARE = 0.02
_SHARED_DEVICE_SHARE = 0.03


def _categorical(rng: np.random.Generator, probs: FloatArray, group: IntArray) -> IntArray:
    """Draw one category per row from the probability row ``probs[group[i]]``."""
    cdf: FloatArray = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    cdf[:, -1] = 1.0
    n = int(group.shape[0])
    u = rng.random(n)
    codes = np.empty(n, dtype=np.int64)
    for g in range(probs.shape[0]):
        rows = group == g
        codes[rows] = np.searchsorted(cdf[g], u[rows], side="right")
    return codes


def _labels(labels: Sequence[str], codes: IntArray) -> pl.Series:
    return pl.Series(list(labels), dtype=pl.String).gather(codes)


def _hex_ids(prefix: str, values: npt.NDArray[np.uint64]) -> pl.Series:
    """Format the low 48 bits of ``values`` as ``prefix`` + 12 lower-case hex digits."""
    raw = values.astype("<u8").view(np.uint8).reshape(-1, 8)[:, 5::-1]
    nibbles = np.empty((raw.shape[0], 12), dtype=np.uint8)
    nibbles[:, 0::2] = raw >> 4
    nibbles[:, 1::2] = raw & 0xF
    chars = np.ascontiguousarray(np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nibbles])
    hexed = pl.Series(chars.view("S12").ravel()).cast(pl.String)
    return pl.select(pl.lit(prefix) + hexed).to_series()


def _dotted(first_octet: IntArray, low24: IntArray) -> pl.Series:
    """Format IPv4 addresses from their first octet and their low 24 bits."""
    octets = [first_octet, (low24 >> 16) & 255, (low24 >> 8) & 255, low24 & 255]
    parts = [pl.lit(pl.Series(v.astype(np.int64))).cast(pl.String) for v in octets]
    return pl.select(pl.concat_str(parts, separator=".")).to_series()


def _age_bands(age: IntArray) -> IntArray:
    return np.searchsorted(np.array([23, 30, 50]), age, side="right").astype(np.int64)


def _rings(rng: np.random.Generator, n: int) -> IntArray:
    """Fraud-ring id per row (-1 outside rings); members of a ring apply close in time."""
    ring = np.full(n, -1, dtype=np.int64)
    members = np.flatnonzero(rng.random(n) < _RING_SHARE)
    if members.size < 3:
        return ring
    sizes = 3 + rng.geometric(0.12, size=members.size // 3 + 1)
    ids = np.repeat(np.arange(sizes.size), sizes)[: members.size]
    ring[members] = ids
    return ring


def _shared(rng: np.random.Generator, ids: IntArray, ring_ids: IntArray, share: float) -> IntArray:
    """Give ring members (each with probability ``share``) the id of their ring's first member."""
    out = ids.copy()
    members = np.flatnonzero(ring_ids >= 0)
    if members.size:
        _, first = np.unique(ring_ids[members], return_index=True)
        leader_value = ids[members[first]]
        take = members[rng.random(members.size) < share]
        out[take] = leader_value[ring_ids[take]]
    return out


def _application_times(rng: np.random.Generator, n: int) -> npt.NDArray[np.datetime64]:
    # volume grows linearly to three times its starting level: invert F(x) = (x + x**2) / 2
    grow = (np.sqrt(1 + 8 * rng.random(n)) - 1) / 2
    day = np.minimum(np.floor(_DAYS * grow), _DAYS - 1).astype(np.int64)
    hour = rng.choice(24, size=n, p=_HOURLY / _HOURLY.sum())
    second = day * 86_400 + hour * 3_600 + rng.integers(0, 3_600, size=n)
    return np.sort(_START + second.astype("timedelta64[s]"))


def _birth_dates(
    rng: np.random.Generator, app_day: npt.NDArray[np.datetime64]
) -> tuple[npt.NDArray[np.datetime64], IntArray]:
    """Birth dates for ages 18..65 skewed young, and the whole-year age at application."""
    n = int(app_day.shape[0])
    low, high = 18 + 3 / 365, 66 - 3 / 365
    years: FloatArray = 18 + rng.gamma(2.0, 5.0, size=n)
    out: BoolArray = (years < low) | (years >= high)
    years[out] = rng.uniform(low, high, size=int(out.sum()))
    birth = app_day - np.round(years * 365.2425).astype("timedelta64[D]")

    def ymd(d: npt.NDArray[np.datetime64]) -> tuple[IntArray, IntArray]:
        year = d.astype("datetime64[Y]").astype(np.int64)
        month_start = d.astype("datetime64[M]")
        month_day = (month_start.astype(np.int64) % 12) * 100 + (d - month_start).astype(np.int64)
        return year, month_day

    app_year, app_md = ymd(app_day)
    birth_year, birth_md = ymd(birth)
    age = app_year - birth_year - (app_md < birth_md).astype(np.int64)
    return birth, age


def _partner_profiles() -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    world = np.random.default_rng(_WORLD_SEED)
    share = 1.0 / np.arange(1, N_PARTNERS + 1) ** 0.9
    channel_mix = world.dirichlet([4.0, 1.5, 2.5, 1.5, 0.6], size=N_PARTNERS)
    product_mix = world.dirichlet([3.0, 2.0, 1.2], size=N_PARTNERS)
    risk = world.normal(0.0, 0.3, size=N_PARTNERS)
    return share / share.sum(), channel_mix, product_mix, risk


def _installment(amount: FloatArray, term: IntArray, apr: float = 0.24) -> FloatArray:
    rate = apr / 12
    return amount * rate / (1 - (1 + rate) ** -term.astype(np.float64))


def synth_applications(rows: int, seed: int = 0) -> pl.DataFrame:
    """Generate realistic consumer-loan applications with a latent default outcome.

    Parameters
    ----------
    rows : int
        Number of applications, at least 1.
    seed : int, default=0
        Seed of the random generator; the same seed gives an identical frame.

    Returns
    -------
    polars.DataFrame
        One row per application, ordered by ``applicationTime``, with the columns and dtypes of
        :data:`APPLICATION_SCHEMA`. ``utilization``, ``employmentType`` and ``ipAddress``
        (offline channel) may be null; every other column is never null. The overall bad
        rate of ``defaulted`` is about 7%.

    Raises
    ------
    ValueError
        If ``rows`` is not an integer of at least 1.
    """
    if isinstance(rows, bool) or not isinstance(rows, int | np.integer) or rows < 1:
        raise ValueError(f"rows must be an integer >= 1, got {rows!r}")
    n = int(rows)
    rng = np.random.default_rng(seed)

    # when, where from, who
    times = _application_times(rng, n)
    ring = _rings(rng, n)
    in_ring = ring >= 0
    partner_share, channel_mix, product_mix, partner_risk = _partner_profiles()
    partner = rng.choice(N_PARTNERS, size=n, p=partner_share)
    ring_partner = rng.choice(N_PARTNERS, size=max(int(ring.max()) + 1, 1), p=partner_share)
    partner[in_ring] = ring_partner[ring[in_ring]]
    channel = _categorical(rng, channel_mix, partner)
    channel[in_ring] = np.where(rng.random(int(in_ring.sum())) < 0.7, 0, 2)  # app or h5
    birth, age = _birth_dates(rng, times.astype("datetime64[D]"))
    band = _age_bands(age)
    female = rng.random(n) < 0.44
    employment = _categorical(rng, _EMPLOYMENT_BY_AGE, band)
    employment_missing = rng.random(n) < 0.02
    residence = _categorical(rng, _RESIDENCE_BY_AGE, band)

    # employment and income
    earning = employment <= 3
    tenure_scale = 1.2 + 0.12 * (age - 18)
    years = np.where(
        earning,
        np.minimum(rng.gamma(1.5, tenure_scale), age - 16.0),
        np.where(employment == 6, 0.0, rng.uniform(0.0, 1.0, size=n) * (rng.random(n) < 0.3)),
    )
    employment_years = np.round(years * 4) / 4
    income_f = _INCOME_MEDIAN[employment] * np.exp(
        0.025 * (np.minimum(age, 45) - 30) + rng.normal(0.0, 0.55, size=n)
    )
    monthly_income = np.maximum(np.round(income_f), 300).astype(np.int64)

    # credit file, driven by a latent creditworthiness factor (higher = riskier)
    latent = rng.normal(0.0, 1.0, size=n) + partner_risk[partner]
    young = (age < 25).astype(np.float64)
    delinquencies = rng.poisson(0.15 * np.exp(0.9 * latent))
    inquiries = rng.poisson(1.2 * np.exp(0.45 * latent + 0.3 * young)) + in_ring * rng.poisson(
        2.0, size=n
    )
    existing = rng.poisson((0.4 + 0.04 * np.minimum(age - 18, 20)) * np.exp(0.35 * latent))
    util = 1.15 / (1 + np.exp(-(0.9 * latent - 0.2 + rng.normal(0.0, 0.8, size=n))))
    util = np.where(rng.random(n) < 0.03, util * rng.uniform(1.0, 1.3, size=n), util)
    utilization = np.round(np.clip(util, 0.0, 1.5), 3)
    utilization_missing = rng.random(n) < np.where(age < 23, 0.25, 0.08)
    score = (
        620
        - 60 * latent
        + 25 * np.log(monthly_income / 6000)
        + 1.2 * np.minimum(age - 18, 25)
        - 30 * np.minimum(delinquencies, 3)
        - 4 * np.minimum(inquiries, 10)
        + rng.normal(0.0, 25.0, size=n)
    )
    credit_score = np.clip(np.round(score), 300, 900).astype(np.int64)
    debt = monthly_income * existing * rng.gamma(2.0, 0.04, size=n) * np.exp(0.2 * latent)
    debt += (residence == 3) * monthly_income * rng.uniform(0.15, 0.35, size=n)
    monthly_debt = np.round(debt).astype(np.int64)

    # the loan asked for
    product = _categorical(rng, product_mix, partner)
    purpose = _categorical(rng, _PURPOSE_BY_PRODUCT, product)
    car = purpose == PURPOSES.index("car")
    term = np.asarray(TERMS, dtype=np.int64)[
        _categorical(rng, _TERM_BY_PRODUCT, np.where(car, 3, product))
    ]
    amount_f = monthly_income * _AMOUNT_TO_INCOME[product] * (1 + 3 * car)
    amount_f *= np.exp(rng.normal(0.0, 0.6, size=n))
    loan_amount = np.clip(np.round(amount_f / 100) * 100, 500, 300_000).astype(np.int64)

    # identity: devices, phones and IPs, shared inside fraud rings and sometimes in families
    device = rng.integers(0, 2**47, size=n)
    device = _shared(rng, device, ring, 0.8)
    family = np.flatnonzero(rng.random(n) < _SHARED_DEVICE_SHARE)
    device[family] = device[rng.integers(0, n, size=family.size)]
    shared_device = (np.unique(device, return_counts=True)[1] > 1)[
        np.unique(device, return_inverse=True)[1]
    ]
    phone = _MOBILE_PREFIXES[rng.integers(0, _MOBILE_PREFIXES.size, size=n)] * 10**8
    phone = _shared(rng, phone + rng.integers(0, 10**8, size=n), ring, 0.4)
    ip = _shared(rng, rng.integers(0, 2**24, size=n), ring, 0.6) % 2**24
    first_octet = _IP_FIRST_OCTETS[(ip + ring.clip(0)) % _IP_FIRST_OCTETS.size]
    offline = channel == CHANNELS.index("offline")

    # the latent outcome
    dti = (monthly_debt + _installment(loan_amount.astype(np.float64), term)) / monthly_income
    logit = (
        _INTERCEPT
        - 0.012 * (credit_score - 650)
        + 1.2 * np.minimum(dti, 3.0)
        + 0.35 * np.minimum(delinquencies, 5)
        + 0.10 * np.minimum(inquiries, 12)
        + 0.05 * np.maximum(28 - age, 0)
        + np.where(employment_missing, 0.3, _EMPLOYMENT_LOGIT[employment])
        + 0.4 * shared_device
        + 1.8 * in_ring
        + _CHANNEL_LOGIT[channel]
        + 0.5 * partner_risk[partner]
        + rng.normal(0.0, 0.5, size=n)
    )
    default_prob = 1.0 / (1.0 + np.exp(-logit))
    defaulted = (rng.random(n) < default_prob).astype(np.int64)

    width = max(7, len(str(n)))
    frame = pl.DataFrame(
        {
            "applicantId": pl.select(
                pl.lit("A") + pl.int_range(1, n + 1).cast(pl.String).str.zfill(width)
            ).to_series(),
            "applicationTime": times,
            "partner": _labels([f"P{k + 1:02d}" for k in range(N_PARTNERS)], partner),
            "channel": _labels(CHANNELS, channel),
            "product": _labels(PRODUCTS, product),
            "purpose": _labels(PURPOSES, purpose),
            "loanAmount": loan_amount,
            "termMonths": term,
            "birthDate": birth.astype("datetime64[D]"),
            "age": age,
            "gender": _labels(("M", "F"), female.astype(np.int64)),
            "residentialStatus": _labels(RESIDENCE, residence),
            "employmentType": _labels(EMPLOYMENT, employment),
            "employmentYears": employment_years,
            "monthlyIncome": monthly_income,
            "monthlyDebt": monthly_debt,
            "creditScore": credit_score,
            "delinquencies24m": delinquencies.astype(np.int64),
            "inquiries6m": inquiries.astype(np.int64),
            "utilization": utilization,
            "existingLoans": existing.astype(np.int64),
            "deviceId": _hex_ids("D", device.astype(np.uint64)),
            "phone": pl.Series(phone.astype(np.int64)).cast(pl.String),
            "ipAddress": _dotted(first_octet, ip),
            "defaultProb": default_prob,
            "defaulted": defaulted,
        }
    )
    return frame.with_columns(
        pl.when(pl.Series(employment_missing))
        .then(None)
        .otherwise(pl.col("employmentType"))
        .alias("employmentType"),
        pl.when(pl.Series(utilization_missing))
        .then(None)
        .otherwise(pl.col("utilization"))
        .alias("utilization"),
        pl.when(pl.Series(offline)).then(None).otherwise(pl.col("ipAddress")).alias("ipAddress"),
        # polars types cast()'s mapping with an invariant key type wider than str
    ).cast(dict(APPLICATION_SCHEMA))  # type: ignore[arg-type]
