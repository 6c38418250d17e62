"""Container identity: the ISO 6346 container number and size/type code, and the record of a container
that a crane lifts, a vehicle carries and the two customs gates hand over.

Everything that names a container goes through here, so a misread number or a declaration that cannot
be true is refused at the first system that sees it, with a message that says what is wrong.

Container number (ISO 6346): owner code (3 letters), category identifier (U freight container,
J detachable freight-container-related equipment, Z trailer or chassis), 6-digit serial, check digit.
The check digit: letters take the values A=10, B=12 ... Z=38 (multiples of 11 skipped), digits their
own; each of the first 10 characters is weighted by 2**position; the sum mod 11, then mod 10 (the
standard advises against serials whose remainder is 10, which gives the check digit 0).

Mass limits: ISO 668 Amd 1:2005 raised the rating R (maximum gross mass) of 20 ft and 30 ft boxes to
the 30,480 kg of the 40 ft ones, and 45 ft boxes came in at 30,480 kg too; ISO 668:2013/Amd 2:2016,
carried into the 2020 edition, raised series 1 (all but 10 ft) to 36,000 kg. (From published summaries
of the standard; the ISO text itself was not at hand.) The per-length maxima below default to 36,000 kg;
a site whose fleet is plated at 30,480 kg sets them to that. Either way the site's own range
(2,200-32,500 kg) is the tighter bound by default. The binding limit of a real box is its CSC plate,
which this module does not see.
"""
from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass

from .params import doc


class ContainerError(ValueError):
    """A container identity or declaration that is refused; the message names the field and value."""


# ISO 6346 letter values: from A=10 upwards, skipping 11, 22 and 33
LETTER_VALUES = {}
_value = 10
for _letter in 'ABCDEFGHIJKLMNOPQRSTUVWXYZ':
    if _value % 11 == 0:
        _value += 1
    LETTER_VALUES[_letter] = _value
    _value += 1
del _value, _letter

CATEGORIES = {
    'U': 'freight container',
    'J': 'detachable freight container-related equipment',
    'Z': 'trailer or chassis',
}

# ISO 6346 size code: first character length, second height (all of these are 8 ft = 2.438 m wide)
LENGTH_CODES = {'2': (6.058, '20 ft'), '4': (12.192, '40 ft'), 'L': (13.716, '45 ft')}
HEIGHT_CODES = {'0': (2.438, '8 ft'), '2': (2.591, '8 ft 6 in'), '4': (2.743, '9 ft'), '5': (2.896, '9 ft 6 in')}
WIDTH_M = 2.438

# ISO 6346 (1995) type codes: group letter -> (group name, {detail digit: description}); details not
# listed are spare in the standard and refused
TYPE_GROUPS = {
    'G': ('general purpose', {
        '0': 'opening(s) at one or both ends', '1': 'passive vents at upper part of cargo space',
        '2': 'openings at one or both ends and full openings on one or both sides',
        '3': 'openings at one or both ends and partial openings on one or both sides'}),
    'V': ('ventilated', {
        '0': 'non-mechanical vents at lower and upper parts', '2': 'mechanical ventilation, internal',
        '4': 'mechanical ventilation, external'}),
    'B': ('dry bulk', {
        '0': 'closed', '1': 'airtight', '3': 'horizontal discharge, test pressure 150 kPa',
        '4': 'horizontal discharge, test pressure 265 kPa', '5': 'tipping discharge, test pressure 150 kPa',
        '6': 'tipping discharge, test pressure 265 kPa'}),
    'S': ('named cargo', {'0': 'livestock carrier', '1': 'automobile carrier', '2': 'live fish carrier'}),
    'R': ('refrigerated (reefer)', {
        '0': 'mechanically refrigerated', '1': 'mechanically refrigerated and heated',
        '2': 'self-powered mechanically refrigerated', '3': 'self-powered mechanically refrigerated and heated'}),
    'H': ('insulated / heated', {
        '0': 'refrigerated or heated, removable equipment outside', '1': 'refrigerated or heated, equipment inside',
        '2': 'refrigerated or heated, removable equipment outside', '5': 'insulated, K = 0.4 W/(m2 K)',
        '6': 'insulated, K = 0.7 W/(m2 K)'}),
    'U': ('open top', {
        '0': 'openings at one or both ends', '1': 'openings at ends, removable top members in end frames',
        '2': 'openings at one or both ends and one or both sides',
        '3': 'openings at ends and sides, removable top members in end frames',
        '4': 'openings at ends, partial opening on one side and full on the other',
        '5': 'complete, fixed side and end walls, no doors'}),
    'P': ('platform / flat rack', {
        '0': 'plain platform', '1': 'two complete fixed ends', '2': 'fixed posts, free-standing or with top member',
        '3': 'folding complete ends', '4': 'folding posts, free-standing or with top member',
        '5': 'open top, open ends (skeletal)'}),
    'T': ('tank', {
        '0': 'non-dangerous liquids, 45 kPa', '1': 'non-dangerous liquids, 150 kPa',
        '2': 'non-dangerous liquids, 265 kPa', '3': 'dangerous liquids, 150 kPa',
        '4': 'dangerous liquids, 265 kPa', '5': 'dangerous liquids, 400 kPa', '6': 'dangerous liquids, 600 kPa',
        '7': 'gases, 910 kPa', '8': 'gases, 2200 kPa', '9': 'gases, pressure to be decided'}),
    'A': ('air/surface', {'0': 'air/surface container'}),
}


@dataclass(frozen=True)
class ContainerParams:
    min_gross_mass_kg: float = doc(2200.0, 'least declared gross mass accepted here, about an empty 20 ft box [kg]')
    max_gross_mass_kg: float = doc(32500.0, 'most declared gross mass accepted here (crane and vehicle rating) [kg]')
    max_gross_20ft_kg: float = doc(36000.0, 'ISO 668 rating R of a 20 ft container (30480 before Amd 2:2016) [kg]')
    max_gross_40ft_kg: float = doc(36000.0, 'ISO 668 rating R of a 40 ft container (30480 before Amd 2:2016) [kg]')
    max_gross_45ft_kg: float = doc(36000.0, 'ISO 668 rating R of a 45 ft container (30480 before Amd 2:2016) [kg]')
    vgm_relative_tolerance: float = doc(0.05, 'load-cell reading vs declared VGM, SOLAS practice [fraction]')

    def max_gross_for_length(self, length_code: str) -> float:
        return {'2': self.max_gross_20ft_kg, '4': self.max_gross_40ft_kg, 'L': self.max_gross_45ft_kg}[length_code]


def check_digit(first_ten: str) -> int:
    """The ISO 6346 check digit of owner code + category + serial (10 characters, already upper case)."""
    total = 0
    for position, char in enumerate(first_ten):
        total += (int(char) if char.isdigit() else LETTER_VALUES[char]) * (1 << position)
    return total % 11 % 10


@dataclass(frozen=True)
class ContainerNumber:
    owner_code: str      # 3 letters, registered with the BIC
    category: str        # U, J or Z
    serial: str          # 6 digits
    check: int

    @property
    def code(self) -> str:
        """The 11-character form, e.g. CSQU3054383."""
        return f'{self.owner_code}{self.category}{self.serial}{self.check}'

    def __str__(self):
        return self.code


def _compact(text, what):
    """Drop whitespace and upper-case; refuse non-strings and non-ASCII (lookalike letters)."""
    if not isinstance(text, str):
        raise ContainerError(f'{what} must be a string, got {type(text).__name__} {text!r}')
    compact = ''.join(text.split())
    if not compact.isascii():
        raise ContainerError(f'{what} {text!r} has a non-ASCII character')
    return compact.upper()


def parse_container_number(text, categories: str = 'U') -> ContainerNumber:
    """Parse and check an ISO 6346 container number; spaces and lower case are tolerated, nothing else.

    `categories`: the category identifiers accepted (a crane lifts freight containers: U)."""
    code = _compact(text, 'container id')
    odd = sorted({c for c in code if not c.isalnum()})
    if odd:
        raise ContainerError(f"container id {text!r} has characters that are not letters or digits: "
                             f"{' '.join(repr(c) for c in odd)}")
    if len(code) != 11:
        raise ContainerError(f'container id must be 11 characters (owner code, category, 6-digit serial, '
                             f'check digit), got {len(code)} in {text!r}')
    owner, category, serial, check = code[:3], code[3], code[4:10], code[10]
    if not re.fullmatch('[A-Z]{3}', owner):
        raise ContainerError(f"owner code must be 3 letters, got '{owner}'")
    if category not in CATEGORIES:
        raise ContainerError(f"category identifier must be U, J or Z, got '{category}'")
    if category not in categories:
        expected = ' or '.join(f'{c} ({CATEGORIES[c]})' for c in categories)
        raise ContainerError(f"category identifier '{category}' ({CATEGORIES[category]}) is not accepted here, "
                             f'expected {expected}')
    if not re.fullmatch('[0-9]{6}', serial):
        raise ContainerError(f"serial number must be 6 digits, got '{serial}'")
    if not check.isdigit():
        raise ContainerError(f"check digit must be a digit, got '{check}'")
    computed = check_digit(code[:10])
    if int(check) != computed:
        raise ContainerError(f'check digit {check} does not match the computed {computed} (container id {code})')
    return ContainerNumber(owner, category, serial, computed)


@dataclass(frozen=True)
class SizeType:
    """A decoded ISO 6346 size/type code with the outer dimensions of the box."""
    code: str
    length_m: float
    width_m: float
    height_m: float
    length_label: str    # '20 ft', '40 ft', '45 ft'
    height_label: str
    group: str           # type group letter, e.g. 'G'
    group_name: str
    detail: str          # detail digit
    description: str


def parse_size_type(text) -> SizeType:
    """Decode a size/type code like 22G1, 42G1, 45G1, 45R1, L5G1; refuse unknown or unhandled codes."""
    code = _compact(text, 'size/type code')
    if len(code) != 4:
        raise ContainerError(f'size/type code must be 4 characters (length, height, type group, detail), '
                             f'got {len(code)} in {text!r}')
    length, height, group, detail = code
    if length not in LENGTH_CODES:
        raise ContainerError(f"length code '{length}' of size/type code {code} is unknown or not handled here: "
                             f'expected 2 (20 ft), 4 (40 ft) or L (45 ft)')
    if height not in HEIGHT_CODES:
        raise ContainerError(f"height code '{height}' of size/type code {code} is unknown or not handled here: "
                             f"expected 0 (8 ft), 2 (8 ft 6 in), 4 (9 ft) or 5 (9 ft 6 in)")
    if group not in TYPE_GROUPS:
        raise ContainerError(f"type group '{group}' of size/type code {code} is unknown: expected one of "
                             f"{', '.join(TYPE_GROUPS)}")
    group_name, details = TYPE_GROUPS[group]
    if detail not in details:
        raise ContainerError(f"type code '{group}{detail}' of size/type code {code} is not assigned in ISO 6346 "
                             f"(group {group}, {group_name}, uses {', '.join(group + d for d in details)})")
    length_m, length_label = LENGTH_CODES[length]
    height_m, height_label = HEIGHT_CODES[height]
    return SizeType(code, length_m, WIDTH_M, height_m, length_label, height_label, group, group_name, detail,
                    details[detail])


def parse_seal_id(text) -> str:
    """An ISO 17712-style seal number: 4-15 letters or digits once spaces around it are dropped."""
    if not isinstance(text, str):
        raise ContainerError(f'seal_id must be a string, got {type(text).__name__} {text!r}')
    seal = text.strip().upper()
    if not seal:
        raise ContainerError('seal_id is empty')
    if not re.fullmatch('[A-Z0-9]{4,15}', seal):
        raise ContainerError(f'seal_id must be 4-15 letters or digits, got {text!r}')
    return seal


def parse_declaration_id(text) -> str:
    """The customs declaration the container travels under: non-empty, printable, no control characters."""
    if not isinstance(text, str):
        raise ContainerError(f'declaration_id must be a string, got {type(text).__name__} {text!r}')
    declaration = text.strip()
    if not declaration:
        raise ContainerError(f'declaration_id is empty ({text!r})')
    if not declaration.isprintable():
        raise ContainerError(f'declaration_id has a non-printable character: {text!r}')
    return declaration


@dataclass(frozen=True)
class Container:
    """One container as declared. Build it with make_container, which normalises and checks every field
    against the site's limits; constructing it directly (or with dataclasses.replace) still refuses
    fields that are not well-formed and canonical, or a mass that is not a finite positive number."""
    container_id: str        # ISO 6346, 11 characters, category U
    iso_type: str            # ISO 6346 size/type code, e.g. 45G1
    seal_id: str
    gross_mass_kg: float     # declared verified gross mass (SOLAS VGM) [kg]
    declaration_id: str

    def __post_init__(self):
        canonical = {
            'container_id': lambda v: parse_container_number(v, categories='U').code,
            'iso_type': lambda v: parse_size_type(v).code,
            'seal_id': parse_seal_id,
            'declaration_id': parse_declaration_id,
        }
        for name, parse in canonical.items():
            value = getattr(self, name)
            if parse(value) != value:
                raise ContainerError(f'{name} {value!r} is not in canonical form ({parse(value)!r}); '
                                     f'build containers with make_container')
        if _finite_mass(self.gross_mass_kg, 'gross_mass_kg') <= 0.0:
            raise ContainerError(f'gross_mass_kg must be positive, got {self.gross_mass_kg!r}')

    @property
    def size_type(self) -> SizeType:
        return parse_size_type(self.iso_type)


def make_container(container_id, iso_type, seal_id, gross_mass_kg, declaration_id,
                   params: ContainerParams = ContainerParams()) -> Container:
    """The one way in: a checked, normalised Container, or ContainerError naming the field and value."""
    try:
        number = parse_container_number(container_id, categories='U')
    except ContainerError as error:
        raise ContainerError(f'container_id {container_id!r}: {error}') from None
    try:
        size_type = parse_size_type(iso_type)
    except ContainerError as error:
        raise ContainerError(f'iso_type {iso_type!r}: {error}') from None
    seal = parse_seal_id(seal_id)
    declaration = parse_declaration_id(declaration_id)
    mass = _finite_mass(gross_mass_kg, 'gross_mass_kg')
    iso_max = params.max_gross_for_length(size_type.code[0])
    if mass > iso_max:
        raise ContainerError(f'gross_mass_kg {mass:g} is above the ISO 668 maximum gross mass {iso_max:g} kg '
                             f'of a {size_type.length_label} container ({size_type.code})')
    if not params.min_gross_mass_kg <= mass <= params.max_gross_mass_kg:
        raise ContainerError(f'gross_mass_kg {mass:g} is outside the range accepted here '
                             f'{params.min_gross_mass_kg:g}-{params.max_gross_mass_kg:g} kg')
    return Container(number.code, size_type.code, seal, mass, declaration)


def _finite_mass(value, field_name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ContainerError(f'{field_name} must be a number, got {type(value).__name__} {value!r}')
    if not math.isfinite(value):
        raise ContainerError(f'{field_name} must be finite, got {float(value)}')
    return float(value)


@dataclass(frozen=True)
class VgmCheck:
    within_tolerance: bool
    declared_kg: float
    measured_kg: float
    deviation_kg: float            # measured - declared [kg]
    relative_deviation: float      # deviation / declared
    relative_tolerance: float


def check_vgm(container: Container, measured_kg,
              relative_tolerance: float = ContainerParams.vgm_relative_tolerance) -> VgmCheck:
    """Compare a load-cell reading with the declared VGM; a NaN or negative reading is a sensor fault and
    raises ContainerError instead of passing or failing the container."""
    measured = _finite_mass(measured_kg, 'measured_kg')
    if measured < 0.0:
        raise ContainerError(f'measured_kg must not be negative, got {measured:g}')
    if not (isinstance(relative_tolerance, numbers.Real) and 0.0 <= relative_tolerance < 1.0):
        raise ContainerError(f'relative_tolerance must be in [0, 1), got {relative_tolerance!r}')
    declared = container.gross_mass_kg
    deviation = measured - declared
    relative = deviation / declared
    return VgmCheck(abs(relative) <= relative_tolerance, declared, measured, deviation, relative,
                    float(relative_tolerance))


@dataclass(frozen=True)
class YardEntry:
    """A container standing in a yard slot: as declared, and as it really is (mass, centre of gravity)."""
    container: Container
    slot: str
    mass_kg: float               # true mass [kg]
    cog_m: tuple                 # true centre of gravity off the middle, (along, across) the box [m]


def load_yard_manifest(path) -> list:
    """config/yard_manifest.yaml -> YardEntry list; ContainerError naming the entry and field on bad input
    (a bad container record, a slot used twice, a container listed twice, a mass that is not a number)."""
    import yaml
    from pathlib import Path
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding='utf-8'))
    except (OSError, yaml.YAMLError) as error:
        raise ContainerError(f'{path}: cannot read the yard manifest ({error})') from None
    entries = doc.get('containers') if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise ContainerError(f"{path}: 'containers' must be a list of containers")
    out, slots, ids = [], set(), set()
    for i, e in enumerate(entries):
        where = f'{path}: containers[{i}]'
        if not isinstance(e, dict):
            raise ContainerError(f'{where}: must be a mapping')
        try:
            box = make_container(e.get('container_id'), e.get('iso_type'), e.get('seal_id'),
                                 e.get('declared_mass_kg'), e.get('declaration_id'))
            mass = _finite_mass(e.get('mass_kg'), 'mass_kg')
            cog = tuple(_finite_mass(v, 'cog_m') for v in e.get('cog_m', (0.0, 0.0)))
        except (ContainerError, TypeError) as error:
            raise ContainerError(f'{where}: {error}') from None
        slot = e.get('slot')
        if not isinstance(slot, str) or not slot:
            raise ContainerError(f'{where}: slot must be a yard slot id, got {slot!r}')
        if slot in slots:
            raise ContainerError(f"{where}: slot '{slot}' already holds another container")
        if box.container_id in ids:
            raise ContainerError(f'{where}: container {box.container_id} is listed twice')
        if len(cog) != 2 or mass <= 0.0:
            raise ContainerError(f'{where}: mass_kg must be positive and cog_m two numbers')
        slots.add(slot)
        ids.add(box.container_id)
        out.append(YardEntry(box, slot, mass, cog))
    return out
