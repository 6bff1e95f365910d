"""Clinical words for the facts of a case and for what a rule pattern asks of them.

Explanations, lint messages and graph labels say "medications include warfarin
(anticoagulant)" or "a diagnosis of ankle sprain with acuity acute", never a Python
repr. Two views of the same vocabulary: :func:`describe_fact` words one fact of a case,
:func:`describe_pattern` words the condition a rule sets on such a fact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .fact_types import SUBJECT_FIELD, fact_kind
from .vocabulary import Vocabulary

LINE_WORDS = {"first": "first line", "second": "second line", "request": "requested by the prescription"}
# The status of a plan: a short phrase (in a sentence), and the headline of a plan.
STATUS_PHRASES = {"refer_urgent": "refer urgently", "needs_clearance": "needs clearance",
                  "treat_with_precautions": "treat with precautions"}
STATUS_HEADLINES = {
    "refer_urgent": "REFER URGENTLY - no massage; same-day medical assessment",
    "refer": "REFER - no massage until a routine medical evaluation",
    "defer": "DEFER - nothing can be treated today",
    "needs_clearance": "NEEDS CLEARANCE - no treatment until the clearance is documented",
    "treat_with_precautions": "TREAT WITH PRECAUTIONS",
    "treat": "TREAT",
}

# Numeric fields: what they are called and their unit.
MEASURES: dict[str, tuple[str, str]] = {
    "platelets_k": ("platelets", " thousand per microlitre"),
    "temperature_c": ("temperature", " °C"),
    "systolic": ("systolic pressure", " mmHg"),
    "diastolic": ("diastolic pressure", " mmHg"),
    "age": ("age", ""),
    "onset_days": ("days since onset", ""),
    "days_since": ("days since", ""),
    "hours_since": ("hours since the last episode", ""),
    "weeks": ("weeks of pregnancy", ""),
}
# Boolean fields: the words for true and for false.
FLAGS: dict[str, tuple[str, str]] = {
    "fragility_fracture": ("with a fragility fracture", "without a fragility fracture"),
    "active": ("active", "not active"),
    "high_risk": ("high risk", "not high risk"),
    "decompensated": ("decompensated", "compensated"),
    "frail": ("the patient is frail", "the patient is not frail"),
    "spinal": ("a spinal pain condition", "not a spinal pain condition"),
    "headache": ("a headache condition", "not a headache condition"),
    "injury": ("a strain, sprain or contusion", "not a strain, sprain or contusion"),
    "acuity_recorded": ("acuity or onset recorded", "acuity and onset not recorded"),
}
# The attributes each history item has (vocabulary.yaml): no other item's attribute is ever said of it.
ITEM_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "osteoporosis": ("fragility_fracture",), "malignancy": ("active",), "pregnancy": ("weeks", "high_risk"),
    "heart_failure": ("decompensated",),
}
SAID_WHEN_FALSE = frozenset({"active", "decompensated"})  # "compensated" is news; "not high risk" is not
# History items that are the patient's present state, worded as such (not "a history of ...").
CURRENT_STATES = {"pregnancy": "pregnant", "heart_failure": "heart failure",
                  "exercise_program": "follows an exercise programme"}
_COMPARE = {"lt": "under {}", "le": "{} or less", "gt": "over {}", "ge": "{} or more"}


def or_list(words: Iterable[str], conj: str = "or") -> str:
    """'a', 'a or b', 'a, b or c'."""
    items = list(words)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conj} {items[-1]}"


def number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and not isinstance(value, bool):
        return f"{value:.1f}" if abs(value) < 100 and value != int(value) else str(int(value))
    return str(value)


def _number_in(field: str, value: Any) -> str:
    text = f"{value:.1f}" if field == "temperature_c" and isinstance(value, (int, float)) else number(value)
    return text


class Words:
    """The plain words of one vocabulary."""

    def __init__(self, vocab: Vocabulary):
        self.v = vocab

    def label(self, ident: Any) -> str:
        if isinstance(ident, bool):
            return "yes" if ident else "no"
        return self.v.label(str(ident))

    def plain(self, ident: Any) -> str:
        """The name of a condition, finding, history item, class, target or area (never a mechanism's
        label: the finding 'hypertonicity' is not the mechanism 'Hypertonicity / spasm')."""
        if isinstance(ident, bool) or ident is None:
            return self.label(ident)
        return self.v.labels.get(str(ident), str(ident).replace("_", " "))

    def site(self, site: str | None, side: str | None = None) -> str:
        """'the wrist and hand (right)'."""
        text = f"the {self.plain(site)}" if site else ""
        if side:
            text = f"{text} ({side})" if text else f"the {side} side"
        return text

    def medication(self, name: str, cls: str | None) -> str:
        if cls is None or name == cls:
            return f"an {self.plain(name)}" if self.plain(name)[:1] in "aeiou" else f"a {self.plain(name)}"
        return f"{name} ({self.plain(cls)})"

    # -- facts of a case ---------------------------------------------------------------------------
    def describe_fact(self, kind: str, fact: Mapping[str, Any], fields: Iterable[str] = ()) -> str:
        """One case fact in clinical words; ``fields`` picks what to say of a patient, labs or vitals."""
        get = fact.get
        if kind == "diagnosis":
            where = f" of {self.site(get('area'))}" if get("area") else ""
            details = [d for d in (get("side"), get("acuity")) if d]
            if get("acuity") == "acute" and get("acuity_recorded") is False:  # clinical-v2.1 §2.6
                details[-1] = "acute by default: acuity not recorded"
            if get("severity"):
                details.append(get("severity"))
            extra = f" ({', '.join(details)})" if details else ""
            return f"a diagnosis of {self.plain(get('condition'))}{where}{extra}"
        if kind == "finding":
            site = get("target") or get("area")
            where = f" at {self.site(site)}" if site else ""
            side = f" ({get('side')})" if get("side") else ""
            when = f", {get('hours_since')} hours since the last episode" if get("hours_since") is not None else ""
            return f"the finding {self.plain(get('finding'))}{where}{side}{when}"
        if kind == "history":
            return self._history(fact)
        if kind == "medication":
            return f"medications include {self.medication(str(get('name')), get('class'))}"
        if kind == "clearance":
            meaning = self.v.clearances.get(str(get("name")), "")
            scope = f" given for {self.plain(get('scope'))}" if get("scope") else ""
            return f"a documented {get('name')} clearance{scope}" + (f" ({meaning})" if meaning else "")
        if kind in ("request", "exclusion"):
            return HEADS[kind].format(self.label(get("modality")))
        if kind == "focus":
            return HEADS[kind].format(self.site(get("area")))
        said = [self._measure(name, get(name)) for name in fields if get(name) is not None]
        if not said:
            said = [self._measure(name, value) for name, value in fact.items()
                    if name in MEASURES or name in FLAGS if value is not None]
        return or_list(said, "and") or f"the {kind} of the case"

    def _history(self, fact: Mapping[str, Any]) -> str:
        """A history item as what it is ("pregnant, 30 weeks", "an active malignancy at the
        abdomen"), with only the attributes that item has (:data:`ITEM_ATTRIBUTES`)."""
        get = fact.get
        item = str(get("item"))
        where = (f" at {self.site(get('area'))}" if get("area") else "") + side_note(get("side"))
        own = ITEM_ATTRIBUTES.get(item, ())
        details = []
        if "weeks" in own and get("weeks") is not None:
            details.append(f"{get('weeks')} weeks")
        for name in own:
            if name in FLAGS and get(name) is not None:
                yes, no = FLAGS[name]
                if get(name):
                    details.append(yes)
                elif name in SAID_WHEN_FALSE:
                    details.append(no)
        if get("days_since") is not None:
            details.append(f"{get('days_since')} days ago")
        if item == "malignancy" and get("active") is not None:
            details = [d for d in details if d not in FLAGS["active"]]
            head = f"an active malignancy{where}" if get("active") else f"a past malignancy{where}, not active"
        elif item in CURRENT_STATES:
            head = CURRENT_STATES[item] + where
        else:
            head = f"a history of {self.plain(item)}{where}"
        return ", ".join([head, *details])

    def _measure(self, name: str, value: Any) -> str:
        if name in FLAGS:
            yes, no = FLAGS[name]
            return yes if value else no
        word, unit = MEASURES.get(name, (name.replace("_", " "), ""))
        return f"{word} {_number_in(name, value)}{unit}"

    # -- conditions of a rule --------------------------------------------------------------------
    def condition(self, name: str, cond: Any) -> str:
        """What a rule asks of one field, e.g. 'acuity subacute or chronic', 'platelets under 20'."""
        if name in MEASURES:
            word, unit = MEASURES[name]
            if not isinstance(cond, dict):
                return f"{word} {_number_in(name, cond)}{unit}"
            if "present" in cond:
                return f"{word} {'given' if cond['present'] else 'not given'}"
            parts = [_COMPARE[op].format(_number_in(name, arg)) for op, arg in cond.items() if op in _COMPARE]
            if "eq" in cond:
                parts.append(f"exactly {_number_in(name, cond['eq'])}")
            if len(parts) == 1:  # the unit goes with the number: '180 mmHg or more'
                op = next(op for op in cond if op in _COMPARE or op == "eq")
                arg = _number_in(name, cond[op]) + unit
                parts, unit = [_COMPARE[op].format(arg) if op in _COMPARE else f"exactly {arg}"], ""
            return (f"{word} {or_list(parts, 'and')}{unit}" if parts else word) + _absent(cond, "given")
        if name in FLAGS:
            value = cond.get("eq") if isinstance(cond, dict) else cond
            yes, no = FLAGS[name]
            return (yes if value else no) + (_absent(cond, "given") if isinstance(cond, dict) else "")
        return self._choice(name, cond)

    def _choice(self, name: str, cond: Any) -> str:
        word = {"side": "on side", "acuity": "with acuity", "severity": "with severity", "group": "in the",
                "area": "at", "target": "at", "site": "at", "class": "of class", "name": "named",
                "scope": "given for"}.get(name, "")

        def show(values: Iterable[Any]) -> str:
            labels = [self.label(v) if name == "modality" else self.plain(v) for v in values]
            if name in ("area", "target", "site"):
                labels = [f"the {x}" for x in labels]
            return or_list(labels)

        if not isinstance(cond, dict):
            return f"{word} {show([cond])}".strip()
        parts = []
        for op, arg in cond.items():
            if op in ("eq", "in"):
                parts.append(f"{word} {show(arg if op == 'in' else [arg])}".strip())
            elif op in ("ne", "not_in"):
                parts.append(f"{word} other than {show(arg if op == 'not_in' else [arg])}".strip())
            elif op == "present":
                what = {"site": "a site", "target": "a target", "area": "an area", "side": "a side"}.get(
                    name, name.replace("_", " "))
                parts.append(f"with {what} given" if arg else f"without {what}")
        return or_list(parts, "and") + _absent(cond, "given")

    def describe_pattern(self, kind: str, fields: Mapping[str, Any] | None) -> str:
        """A rule pattern in words: 'a diagnosis of ankle sprain with acuity acute'."""
        fields = dict(fields or {})
        subject = SUBJECT_FIELD.get(kind)
        if subject is None:  # patient, labs, vitals: only measures
            return or_list([self.condition(name, cond) for name, cond in fields.items()], "and") or f"any {kind} record"
        head = self._head(kind, fields.pop(subject, None))
        rest = [self.condition(name, cond) for name, cond in fields.items()]
        return ", ".join([head, *[r for r in rest if r]])

    def _head(self, kind: str, cond: Any) -> str:
        if cond is None and kind != "medication":
            return ANY_FACT[kind]
        if cond is None or isinstance(cond, dict) and set(cond) - {"in", "eq"}:
            return f"{A_FACT[kind]} {self._choice(SUBJECT_FIELD[kind], cond)}".strip()
        values = cond.get("in", [cond.get("eq")]) if isinstance(cond, dict) else [cond]
        if kind == "clearance":
            return HEADS[kind].format(or_list(str(v) for v in values))
        name = self.label if kind in ("request", "exclusion") else self.plain
        return HEADS[kind].format(or_list(name(v) for v in values))


# What a pattern on a fact kind says: of given values, of no particular value, of a value test.
HEADS = {"diagnosis": "a diagnosis of {}", "finding": "the finding {}", "history": "a history of {}",
         "medication": "a medication of class {}", "clearance": "a documented {} clearance",
         "request": "the prescription requests {}", "exclusion": "the prescription rules out {}",
         "focus": "the prescription asks to prioritise {}"}
ANY_FACT = {"diagnosis": "any diagnosis", "finding": "any finding", "history": "any history item",
            "medication": "any medication", "clearance": "any documented clearance",
            "request": "a modality the prescription requests", "exclusion": "a modality the prescription rules out",
            "focus": "an area the prescription asks to prioritise"}
A_FACT = {"diagnosis": "a diagnosis", "finding": "a finding", "history": "a history item",
          "medication": "a medication", "clearance": "a clearance", "request": "a requested modality",
          "exclusion": "an excluded modality", "focus": "a focus area"}


def side_note(side: str | None) -> str:
    """' (left)' after a site, or nothing."""
    return f" ({side})" if side else ""


def _absent(cond: Any, present_word: str) -> str:
    if not isinstance(cond, dict) or "if_absent" not in cond:
        return ""
    return f" (or not {present_word})" if cond["if_absent"] else f" (and {present_word})"


# -- conclusions in words ----------------------------------------------------------------------
def describe_conclusion(fact: Any, words: Words) -> str:
    """One conclusion a rule declared, as what the rule did."""
    kind, get, label, v = fact_kind(fact), fact.get, words.label, words.v
    if kind == "mechanism":
        where = f" at {words.site(get('site'), get('side'))}" if get("site") else side_note(get("side"))
        return f"indicates {label(get('name')).lower()}{where}"
    if kind == "candidate":
        return f"adds {get('role')} target {label(get('target'))}{side_note(get('side'))}"
    if kind == "proposal":
        limit = f", at most {get('pressure')} pressure" if get("pressure") else ""
        return (f"proposes {label(get('modality'))} ({LINE_WORDS[get('line')]}, "
                f"rule factor {get('certainty'):.2f}{limit})")
    if kind == "block":
        if get("kind") == "all":
            return f"stops all treatment: {STATUS_PHRASES.get(get('status'), get('status'))}"
        if get("kind") == "modality":
            return f"blocks {label(get('modality'))}"
        if get("kind") == "target":
            return f"blocks work on {label(get('target'))}{side_note(get('side'))}"
        where = f"the {label(get('area'))}" if get("area") else "every area"
        return f"blocks work on {where}{side_note(get('side'))}"
    if kind == "cap":
        site = get("target") or get("area")
        where = f" on {words.site(site, get('side'))}" if site else " everywhere"
        return f"caps pressure at {get('pressure')}{where}"
    if kind == "requirement":
        return f"requires a {get('clearance')} clearance ({v.clearances.get(get('clearance'), '')})"
    if kind == "referral":
        return f"refers to {v.referrals.get(get('to'), get('to'))} ({get('urgency')})"
    if kind == "advisory":
        return f"advises: {get('text')}"
    if kind == "limit":
        return f"limits the session to {get('minutes')} minutes"
    return words.describe_fact(kind, fact)


def describe_conclusions(outputs: Iterable[Any], words: Words) -> list[str]:
    """What one firing concluded; a rule's targets, or its blocked modalities, share one line."""
    lines: list[str | list[str]] = []
    groups: dict[tuple[Any, ...], list[str]] = {}
    for fact in outputs:
        kind = fact_kind(fact)
        if kind == "candidate":
            key: tuple[Any, ...] = (f"adds {fact.get('role')} target", side_note(fact.get("side")))
            item = words.label(fact.get("target"))
        elif kind == "block" and fact.get("kind") == "modality":
            key, item = ("blocks", ""), words.label(fact.get("modality"))
        else:
            lines.append(describe_conclusion(fact, words))
            continue
        if key not in groups:
            groups[key] = [key[0], key[1]]
            lines.append(groups[key])
        groups[key].append(item)
    out = []
    for line in lines:
        if isinstance(line, str):
            out.append(line)
        else:
            head, tail, *items = line
            plural = "s" if head.endswith("target") and len(items) > 1 else ""
            out.append(f"{head}{plural} {', '.join(items)}{tail}")
    return out
