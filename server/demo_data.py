"""Fictitious demo data: the state registry of the embedded default, departments and
kindergartens. Every IIN here is generated (valid form and checksum), none is real."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from server.domain import iin as iin_rules


def _iin(born: date, male: bool, serial: int) -> str:
    century_digit = (5 if male else 6) if born.year >= 2000 else (3 if male else 4)
    n = serial
    while True:
        candidate = iin_rules.make(f"{born:%y%m%d}{century_digit}{n:04d}")
        if candidate is not None:
            return candidate
        n += 1


@dataclass
class Person:
    key: str
    surname: str
    given_name: str
    patronymic: str
    born: date
    male: bool
    benefits: list[str] = field(default_factory=list)
    children: list[tuple[str, str]] = field(default_factory=list)  # (child key, relation)
    iin: str = ""
    note: str = ""

    def registry_json(self, by_key: dict[str, Person]) -> dict:
        adult = (date(2026, 1, 1) - self.born).days > 18 * 365
        return {
            "iin": self.iin,
            "surname": self.surname,
            "given_name": self.given_name,
            "patronymic": self.patronymic,
            "birth_date": self.born.isoformat(),
            "sex": "M" if self.male else "F",
            "document": {
                "kind": "id_card" if adult else "birth_certificate",
                "number": f"{'0' if adult else 'BC'}{self.iin[-9:]}",
                "issued": date(max(self.born.year, 2015), 1, 15).isoformat() if adult else self.born.isoformat(),
            },
            "benefits": list(self.benefits),
            "children": [{"iin": by_key[child].iin, "relation": relation} for child, relation in self.children],
        }


def _people() -> list[Person]:
    p: list[Person] = []

    def add(*args, **kwargs) -> Person:
        person = Person(*args, **kwargs)
        p.append(person)
        return person

    # 1. The plain case: a mother and her daughter.
    add(
        "aigerim",
        "Серикова",
        "Айгерим",
        "Нурлановна",
        date(1993, 4, 12),
        False,
        children=[("dana", "parent")],
        note="applicant: a mother; her daughter has no benefit",
    )
    add("dana", "Серикова", "Дана", "Ерлановна", date(2022, 3, 15), False, note="child, born 2022: the plain case")
    # 2. Twins.
    add(
        "marat",
        "Ахметов",
        "Марат",
        "Кайратович",
        date(1990, 8, 2),
        True,
        children=[("alikhan", "parent"), ("aruzhan", "parent")],
        note="applicant: father of twins",
    )
    add("alikhan", "Ахметов", "Алихан", "Маратович", date(2023, 5, 10), True, note="twin")
    add("aruzhan", "Ахметова", "Аружан", "Маратовна", date(2023, 5, 10), False, note="twin")
    # 3. Large family (registry-backed priority benefit).
    add(
        "gulnara",
        "Жумабаева",
        "Гульнара",
        "Сериковна",
        date(1988, 1, 20),
        False,
        benefits=["LARGE_FAMILY"],
        children=[("yerasyl", "parent")],
        note="applicant: mother of a large family",
    )
    add(
        "yerasyl",
        "Жумабаев",
        "Ерасыл",
        "Бауыржанович",
        date(2022, 9, 1),
        True,
        benefits=["LARGE_FAMILY"],
        note="child with the LARGE_FAMILY benefit from the registry",
    )
    # 4. Disabled parent.
    add(
        "bolat",
        "Касымов",
        "Болат",
        "Ержанович",
        date(1985, 11, 30),
        True,
        benefits=["DISABLED_PARENT"],
        children=[("amina", "parent")],
        note="applicant with a disability (DISABLED_PARENT)",
    )
    add("amina", "Касымова", "Амина", "Болатовна", date(2023, 2, 14), False, note="child")
    # 5. Guardian of a child without parental care.
    add(
        "saule",
        "Омарова",
        "Сауле",
        "Ахметовна",
        date(1979, 6, 5),
        False,
        children=[("timur", "guardian")],
        note="applicant: a guardian",
    )
    add(
        "timur",
        "Омаров",
        "Тимур",
        "Русланович",
        date(2021, 12, 24),
        True,
        benefits=["NO_PARENTAL_CARE"],
        note="child left without parental care",
    )
    # 6. Orphan with a guardian.
    add(
        "nurlan",
        "Беков",
        "Нурлан",
        "Асетович",
        date(1975, 3, 3),
        True,
        children=[("madina", "guardian")],
        note="applicant: guardian of an orphan",
    )
    add("madina", "Бекова", "Мадина", "Даниярқызы", date(2022, 7, 19), False, benefits=["ORPHAN"], note="orphan")
    # 7. Special educational needs.
    add(
        "zhanar",
        "Тулегенова",
        "Жанар",
        "Маратовна",
        date(1991, 10, 10),
        False,
        children=[("arman", "parent")],
        note="applicant",
    )
    add(
        "arman",
        "Тулегенов",
        "Арман",
        "Асқарұлы",
        date(2021, 12, 1),
        True,
        benefits=["SPECIAL_NEEDS"],
        note="child with special educational needs",
    )
    # 8. Family raising a disabled child.
    add(
        "kairat",
        "Нуриев",
        "Кайрат",
        "Болатович",
        date(1987, 5, 25),
        True,
        benefits=["DISABLED_SIBLING"],
        children=[("sofia", "parent")],
        note="applicant raising a disabled child",
    )
    add("sofia", "Нуриева", "София", "Кайратовна", date(2024, 4, 4), False, benefits=["DISABLED_SIBLING"], note="child")
    # 9. A child too old for the queue.
    add(
        "erlan",
        "Садыков",
        "Ерлан",
        "Нурланович",
        date(1986, 2, 2),
        True,
        children=[("dias", "parent")],
        note="applicant whose child is too old",
    )
    add("dias", "Садыков", "Диас", "Ерланович", date(2019, 6, 1), True, note="child born 2019: too old (R6)")
    # 10. A child already in the queue.
    add(
        "asel",
        "Исаева",
        "Асель",
        "Тимуровна",
        date(1994, 9, 9),
        False,
        children=[("adil", "parent")],
        note="applicant whose child is already queued",
    )
    add("adil", "Исаев", "Адиль", "Жанибекович", date(2022, 1, 30), True, note="child already queued in Astana (R5)")
    # 11. A teacher (document-backed priority benefit).
    add(
        "ainur",
        "Мухамедова",
        "Айнур",
        "Сабитовна",
        date(1990, 12, 12),
        False,
        children=[("kamila", "parent")],
        note="applicant: a teacher (claims TEACHER_PARENT)",
    )
    add("kamila", "Мухамедова", "Камила", "Даулетовна", date(2023, 8, 8), False, note="child")
    # 12. A serviceman (document-backed extraordinary benefit).
    add(
        "daulet",
        "Ержанов",
        "Даулет",
        "Серикович",
        date(1989, 7, 7),
        True,
        children=[("ali", "parent")],
        note="applicant: a serviceman (claims MILITARY)",
    )
    add("ali", "Ержанов", "Али", "Даулетович", date(2022, 11, 3), True, note="child")
    # 13. Someone who is not the child's representative.
    add(
        "yerzhan",
        "Абенов",
        "Ержан",
        "Талгатович",
        date(1992, 3, 3),
        True,
        note="adult with no children: not a representative (R4)",
    )

    # Families already in the queue, so queue numbers mean something.
    mothers = [
        "Айжан",
        "Динара",
        "Гаухар",
        "Мадина",
        "Жулдыз",
        "Салтанат",
        "Лаура",
        "Карлыгаш",
        "Назира",
        "Томирис",
        "Жибек",
        "Алия",
        "Индира",
    ]
    kids = [
        ("Нұрислам", True),
        ("Айлин", False),
        ("Ерназар", True),
        ("Инкар", False),
        ("Амир", True),
        ("Аяла", False),
        ("Әлихан", True),
        ("Томирис", False),
        ("Бекзат", True),
        ("Раяна", False),
        ("Санжар", True),
        ("Аделя", False),
        ("Мирас", True),
    ]
    for n, (mother, (kid, boy)) in enumerate(zip(mothers, kids, strict=False)):
        key_parent, key_child = f"q{n}p", f"q{n}c"
        add(
            key_parent,
            "Каримова",
            mother,
            "Ермековна",
            date(1989 + n % 8, 1 + n % 12, 3 + n),
            False,
            children=[(key_child, "parent")],
            note="queued family",
        )
        born = date(2021 + n % 4, 1 + (n * 5) % 12, 2 + n)
        add(
            key_child,
            "Каримов" if boy else "Каримова",
            kid,
            "",
            born,
            boy,
            benefits=["LARGE_FAMILY"] if n % 5 == 0 else [],
            note="queued child",
        )
    return p


def build_people() -> list[Person]:
    people = _people()
    for serial, person in enumerate(people, start=1):
        person.iin = _iin(person.born, person.male, serial * 7)
    return people


PEOPLE = build_people()
BY_KEY = {person.key: person for person in PEOPLE}
REGISTRY = {person.iin: person.registry_json(BY_KEY) for person in PEOPLE}

# Applications seeded already queued: (department code, applicant key, child key).
QUEUED = [("AST", "asel", "adil")] + [("AST" if n % 3 else "ALA", f"q{n}p", f"q{n}c") for n in range(13)]

DEPARTMENTS = [
    (
        "AST",
        "Астана қаласының білім басқармасы",
        "Управление образования города Астаны",
        "Astana City Education Department",
    ),
    (
        "ALA",
        "Алматы қаласының білім басқармасы",
        "Управление образования города Алматы",
        "Almaty City Education Department",
    ),
]

_GARDEN_NAMES = [
    ("Балапан", "Balapan"),
    ("Ақбота", "Akbota"),
    ("Күншуақ", "Kunshuak"),
    ("Айгөлек", "Aigolek"),
    ("Болашақ", "Bolashak"),
    ("Еркетай", "Erketai"),
    ("Қарлығаш", "Karlygash"),
    ("Шұғыла", "Shugyla"),
    ("Жұлдыз", "Zhuldyz"),
    ("Ертөстік", "Ertostik"),
    ("Бөбек", "Bobek"),
    ("Нұрай", "Nurai"),
]


def kindergartens(department_code: str) -> list[dict]:
    rows = []
    for n, (kk, en) in enumerate(_GARDEN_NAMES, start=1):
        rows.append(
            {
                "code": f"{department_code}-KG{n:02d}",
                "name_kk": f"№{n} «{kk}» балабақшасы",
                "name_ru": f"Детский сад №{n} «{kk}»",
                "name_en": f"Kindergarten No. {n} \u201c{en}\u201d",
                "address": f"{'Астана' if department_code == 'AST' else 'Алматы'}, {n * 7} көше",
                "languages": "kk,ru" if n % 3 else "kk",
            }
        )
    return rows


# Each demo kindergarten's age groups (R25): two or three, of the 2021–2024 cohorts, in
# Kazakh and (where the kindergarten teaches it) Russian, with some seats taken. Every
# kindergarten has a 2022 group with free seats: AST-KG01's is Russian, as the demo's
# 2022 Astana children asked for, so publishing two seats there offers them places.
_GROUP_NAMES = ["Балапан", "Ботақан", "Құлыншақ"]


def groups(kindergarten_code: str, languages: str) -> list[dict]:
    n = int(kindergarten_code.rsplit("KG", 1)[1])
    second = "ru" if "ru" in languages.split(",") else "kk"
    plan = [(2022, second), (2024 if n % 4 == 1 else 2021 + n % 4, "kk")]
    if n % 2:
        plan.append((2023 if plan[1][0] != 2023 else 2021, second))
    rows = []
    for i, (cohort, language) in enumerate(plan):
        capacity = 20 + (n + i) % 6
        rows.append(
            {
                "name": f"«{_GROUP_NAMES[i]}» {cohort}",
                "cohort": cohort,
                "language": language,
                "capacity": capacity,
                "enrolled": capacity - 3 - (n + i) % 4,  # 3 to 6 seats free
            }
        )
    return rows


# Demo back-office accounts (`kezek seed` creates them, `make run` prints them): the
# staff of kindergarten AST-KG01 and the Astana department's admin. Demo only: the
# password is public, and the seed makes no account in production.
DEMO_PASSWORD = "kezek-demo-password"
DEMO_STAFF = [
    # (username, full name, role, department, kindergarten)
    ("ast-kg01", "Гүлмира Ахметова", "kindergarten", "AST", "AST-KG01"),
    ("ast-admin", "Ержан Смағұлов", "admin", "AST", ""),
]


BENEFIT_CATEGORIES = [
    (
        "MILITARY",
        "extraordinary",
        "document",
        30,
        "Әскери қызметшінің немесе арнаулы мемлекеттік орган қызметкерінің (оның ішінде қызмет кезінде қаза тапқан, хабарсыз кеткен) баласы",
        "Ребёнок военнослужащего или сотрудника специального государственного органа, в том числе погибшего, умершего или пропавшего без вести при исполнении",
        "Child of a military serviceman or of an employee of a special state body, including one who died, perished or went missing in service",
    ),
    (
        "SPECIAL_NEEDS",
        "priority",
        "registry",
        None,
        "Ерекше білім беру қажеттіліктері бар бала",
        "Ребёнок с особыми образовательными потребностями",
        "Child with special educational needs",
    ),
    (
        "DISABLED_PARENT",
        "priority",
        "registry",
        None,
        "Заңды өкілі мүгедектігі бар адам болып табылатын бала",
        "Ребёнок, законный представитель которого является лицом с инвалидностью",
        "Child whose legal representative is disabled",
    ),
    (
        "NO_PARENTAL_CARE",
        "priority",
        "registry",
        None,
        "Ата-анасының қамқорлығынсыз қалған бала",
        "Ребёнок, оставшийся без попечения родителей",
        "Child left without parental care",
    ),
    ("ORPHAN", "priority", "registry", None, "Жетім бала", "Ребёнок-сирота", "Orphan"),
    (
        "LARGE_FAMILY",
        "priority",
        "registry",
        None,
        "Көпбалалы отбасының баласы",
        "Ребёнок из многодетной семьи",
        "Child from a large family",
    ),
    (
        "DISABLED_SIBLING",
        "priority",
        "registry",
        None,
        "Мүгедектігі бар баланы тәрбиелеп отырған отбасының баласы",
        "Ребёнок из семьи, воспитывающей ребёнка с инвалидностью",
        "Child from a family raising a disabled child",
    ),
    (
        "TEACHER_PARENT",
        "priority",
        "document",
        30,
        "Заңды өкілі педагог болып табылатын бала",
        "Ребёнок, законный представитель которого является педагогом",
        "Child whose legal representative is a teacher",
    ),
]
