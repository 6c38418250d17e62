"""containers: ISO 6346 numbers and size/type codes, the Container record, and the VGM check."""
import dataclasses
import math

import numpy as np
import pytest

from smartgate_core.containers import (
    Container, ContainerError, ContainerParams, check_digit, check_vgm, make_container, parse_container_number,
    parse_declaration_id, parse_seal_id, parse_size_type)


def good(**override):
    fields = dict(container_id='CSQU3054383', iso_type='45G1', seal_id='ML1234567', gross_mass_kg=24000.0,
                  declaration_id='305123456789')
    fields.update(override)
    return make_container(**fields)


# --- container numbers ---------------------------------------------------------------------------

def test_check_digit_worked_example():
    """CSQU305438: 13 + 2*30 + 4*28 + 8*32 + 16*3 + 32*0 + 64*5 + 128*4 + 256*3 + 512*8 = 6185 = 562*11 + 3."""
    assert check_digit('CSQU305438') == 3


@pytest.mark.parametrize('code', [
    'CSQU3054383',     # the worked example published with ISO 6346 (BIC, Wikipedia)
    'MSKU1234565',     # check digit computed by hand below, not assumed
    'APZU4812090',     # computed: weighted sum = 0 mod 11 -> check digit 0
    'CSQU0000070',     # computed: remainder 10 -> check digit 0 (the standard advises against such serials)
])
def test_valid_numbers(code):
    assert parse_container_number(code).code == code


def test_msku1234565_by_hand():
    """M=24, S=30, K=21, U=32, then 1..6 with weights 1, 2, 4, ... 512."""
    values = [24, 30, 21, 32, 1, 2, 3, 4, 5, 6]
    total = sum(v * 2 ** i for i, v in enumerate(values))
    assert total % 11 % 10 == 5 == check_digit('MSKU123456')


def test_remainder_ten_gives_check_digit_zero():
    total = sum(v * 2 ** i for i, v in enumerate([13, 30, 28, 32, 0, 0, 0, 0, 0, 7]))
    assert total % 11 == 10 and check_digit('CSQU000007') == 0


def test_harmless_formatting_is_normalised():
    assert parse_container_number('  csqu 305438 3 ').code == 'CSQU3054383'
    assert parse_container_number('CSQU\t305438\t3').code == 'CSQU3054383'
    number = parse_container_number('CSQU3054383')
    assert (number.owner_code, number.category, number.serial, number.check) == ('CSQ', 'U', '305438', 3)
    assert str(number) == 'CSQU3054383'


@pytest.mark.parametrize('text, message', [
    ('CSQU3054384', 'check digit 4 does not match the computed 3'),
    ('MSKU1234567', 'check digit 7 does not match the computed 5'),
    ('MS1U1234565', "owner code must be 3 letters, got 'MS1'"),
    ('C5QU3054383', "owner code must be 3 letters, got 'C5Q'"),
    ('CSQX3054383', "category identifier must be U, J or Z, got 'X'"),
    ('CSQ13054383', "category identifier must be U, J or Z, got '1'"),
    ('CSQJ3054383', "category identifier 'J' (detachable freight container-related equipment) is not accepted"),
    ('CSQZ3054383', "category identifier 'Z' (trailer or chassis) is not accepted"),
    ('CSQU30543A3', "serial number must be 6 digits, got '30543A'"),
    ('CSQU305438X', "check digit must be a digit, got 'X'"),
    ('CSQU305438', 'must be 11 characters (owner code, category, 6-digit serial, check digit), got 10'),
    ('CSQU30543833', 'got 12'),
    ('', 'got 0'),
    ('CSQU305438-3', "not letters or digits: '-'"),
    ('CSQU.305438.3', "not letters or digits: '.'"),
    ('ÇSQU3054383', 'non-ASCII'),
    ('CSQU３054383', 'non-ASCII'),                 # a full-width digit
    (3054383, 'must be a string, got int'),
    (None, 'must be a string, got NoneType'),
])
def test_every_way_a_number_is_wrong(text, message):
    with pytest.raises(ContainerError) as info:
        parse_container_number(text)
    assert message in str(info.value)


def test_other_categories_only_when_asked():
    equipment = 'CSQJ305438' + str(check_digit('CSQJ305438'))
    assert parse_container_number(equipment, categories='UJZ').category == 'J'
    trailer = 'ABCZ123456' + str(check_digit('ABCZ123456'))
    assert parse_container_number(trailer, categories='Z').category == 'Z'
    with pytest.raises(ContainerError, match="'Z'"):
        parse_container_number(trailer)


def test_container_error_is_a_value_error():
    assert issubclass(ContainerError, ValueError)


# --- size/type codes ------------------------------------------------------------------------------

@pytest.mark.parametrize('code, length_m, height_m, group', [
    ('22G1', 6.058, 2.591, 'G'),
    ('20G0', 6.058, 2.438, 'G'),
    ('42G1', 12.192, 2.591, 'G'),
    ('45G1', 12.192, 2.896, 'G'),
    ('45R1', 12.192, 2.896, 'R'),
    ('L5G1', 13.716, 2.896, 'G'),
    ('22U1', 6.058, 2.591, 'U'),
    ('42P3', 12.192, 2.591, 'P'),
    ('22T6', 6.058, 2.591, 'T'),
    ('22B0', 6.058, 2.591, 'B'),
    ('22V0', 6.058, 2.591, 'V'),
    ('45H5', 12.192, 2.896, 'H'),
    ('44G1', 12.192, 2.743, 'G'),
])
def test_size_type_decoding(code, length_m, height_m, group):
    st = parse_size_type(code)
    assert (st.code, st.length_m, st.height_m, st.width_m, st.group) == (code, length_m, height_m, 2.438, group)


def test_size_type_names():
    st = parse_size_type(' 45r1 ')
    assert st.code == '45R1' and st.length_label == '40 ft' and st.height_label == '9 ft 6 in'
    assert st.group_name == 'refrigerated (reefer)' and st.description == 'mechanically refrigerated and heated'
    assert parse_size_type('L5G1').length_label == '45 ft'


@pytest.mark.parametrize('code, message', [
    ('12G1', "length code '1'"),                  # 10 ft: not handled at this gate
    ('M5G1', "length code 'M'"),
    ('26G1', "height code '6'"),                  # higher than 9 ft 6 in: no definite height
    ('2CG1', "height code 'C'"),                  # wider than 8 ft
    ('22X1', "type group 'X' of size/type code 22X1 is unknown"),
    ('22G7', "type code 'G7' of size/type code 22G7 is not assigned in ISO 6346 (group G, general purpose, "
             "uses G0, G1, G2, G3)"),
    ('22R5', "type code 'R5'"),
    ('22GA', "type code 'GA'"),
    ('22G', 'must be 4 characters'),
    ('22G11', 'must be 4 characters'),
    ('22-G', "type group '-'"),
    (2210, 'must be a string'),
])
def test_unknown_size_type_codes_are_refused(code, message):
    with pytest.raises(ContainerError) as info:
        parse_size_type(code)
    assert message in str(info.value)


# --- seals and declarations -----------------------------------------------------------------------

def test_seal_ids():
    assert parse_seal_id(' ml1234567 ') == 'ML1234567'
    assert parse_seal_id('1234') == '1234' and parse_seal_id('A' * 15) == 'A' * 15
    for bad, message in [('', 'seal_id is empty'), ('   ', 'seal_id is empty'), ('123', '4-15'),
                         ('A' * 16, '4-15'), ('ML 1234', '4-15'), ('ML-1234', '4-15'), ('ML12;DROP', '4-15'),
                         (1234, 'must be a string')]:
        with pytest.raises(ContainerError, match=message):
            parse_seal_id(bad)


def test_declaration_ids():
    assert parse_declaration_id(' 305123456789 ') == '305123456789'
    for bad, message in [('', 'empty'), (' \t', 'empty'), ('30512\n3456', 'non-printable'), (None, 'string')]:
        with pytest.raises(ContainerError, match=message):
            parse_declaration_id(bad)


# --- the Container record -------------------------------------------------------------------------

def test_make_container_normalises():
    c = good(container_id='csqu 305438 3', iso_type='45g1', seal_id=' ml1234567', declaration_id=' 305123456789 ',
             gross_mass_kg=24000)
    assert c == Container('CSQU3054383', '45G1', 'ML1234567', 24000.0, '305123456789')
    assert isinstance(c.gross_mass_kg, float)
    assert c.size_type.length_m == 12.192
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.gross_mass_kg = 1.0


@pytest.mark.parametrize('override, message', [
    (dict(container_id='CSQU3054384'), "container_id 'CSQU3054384': check digit 4 does not match the computed 3"),
    (dict(container_id='MS1U1234565'), "container_id 'MS1U1234565': owner code must be 3 letters, got 'MS1'"),
    (dict(container_id='CSQZ3054383'), "container_id 'CSQZ3054383': category identifier 'Z'"),
    (dict(iso_type='45X1'), "iso_type '45X1': type group 'X'"),
    (dict(iso_type='12G1'), "iso_type '12G1': length code '1'"),
    (dict(seal_id=''), 'seal_id is empty'),
    (dict(seal_id='SEAL#1'), "seal_id must be 4-15 letters or digits, got 'SEAL#1'"),
    (dict(declaration_id=''), 'declaration_id is empty'),
    (dict(gross_mass_kg=float('nan')), 'gross_mass_kg must be finite, got nan'),
    (dict(gross_mass_kg=float('inf')), 'gross_mass_kg must be finite, got inf'),
    (dict(gross_mass_kg=-float('inf')), 'gross_mass_kg must be finite, got -inf'),
    (dict(gross_mass_kg=np.float32('nan')), 'gross_mass_kg must be finite, got nan'),
    (dict(gross_mass_kg='24000'), "gross_mass_kg must be a number, got str '24000'"),
    (dict(gross_mass_kg=None), 'gross_mass_kg must be a number, got NoneType'),
    (dict(gross_mass_kg=True), 'gross_mass_kg must be a number, got bool'),
    (dict(gross_mass_kg=2199.9), 'gross_mass_kg 2199.9 is outside the range accepted here 2200-32500 kg'),
    (dict(gross_mass_kg=32500.1), 'gross_mass_kg 32500.1 is outside the range accepted here 2200-32500 kg'),
    (dict(gross_mass_kg=0.0), 'gross_mass_kg 0 is outside'),
    (dict(gross_mass_kg=-5000.0), 'gross_mass_kg -5000 is outside'),
    (dict(gross_mass_kg=36000.5), 'gross_mass_kg 36000.5 is above the ISO 668 maximum gross mass 36000 kg of a '
                                  '40 ft container (45G1)'),
])
def test_make_container_refuses(override, message):
    with pytest.raises(ContainerError) as info:
        good(**override)
    assert message in str(info.value)


def test_mass_limits_are_inclusive_and_numpy_numbers_work():
    assert good(gross_mass_kg=2200.0).gross_mass_kg == 2200.0
    assert good(gross_mass_kg=32500.0).gross_mass_kg == 32500.0
    assert good(gross_mass_kg=np.float32(24000.0)).gross_mass_kg == 24000.0
    assert good(gross_mass_kg=np.int64(24000)).gross_mass_kg == 24000.0


def test_iso_668_maximum_per_length_with_the_pre_2016_rating():
    """A site whose fleet is plated at 30,480 kg (ISO 668 before Amd 2:2016) refuses 31 t in any size."""
    old = ContainerParams(max_gross_20ft_kg=30480.0, max_gross_40ft_kg=30480.0, max_gross_45ft_kg=30480.0)
    for iso_type, label in [('22G1', '20 ft'), ('42G1', '40 ft'), ('L5G1', '45 ft')]:
        with pytest.raises(ContainerError, match=f'above the ISO 668 maximum gross mass 30480 kg of a {label}'):
            good(iso_type=iso_type, gross_mass_kg=31000.0, params=old)
        assert good(iso_type=iso_type, gross_mass_kg=30480.0, params=old).gross_mass_kg == 30480.0
    # with the current rating the site's 32.5 t bound is the tighter one
    assert good(iso_type='22G1', gross_mass_kg=32000.0).gross_mass_kg == 32000.0


def test_direct_construction_and_replace_still_refuse():
    c = good()
    with pytest.raises(ContainerError, match='must be finite'):
        dataclasses.replace(c, gross_mass_kg=math.nan)
    with pytest.raises(ContainerError, match='not in canonical form'):
        Container('csqu3054383', '45G1', 'ML1234567', 24000.0, 'D1')
    with pytest.raises(ContainerError, match='check digit'):
        Container('CSQU3054384', '45G1', 'ML1234567', 24000.0, 'D1')
    with pytest.raises(ContainerError, match='must be positive'):
        Container('CSQU3054383', '45G1', 'ML1234567', 0.0, 'D1')


# --- VGM against the load cell --------------------------------------------------------------------

def test_vgm_within_and_outside_tolerance():
    c = good(gross_mass_kg=20000.0)
    inside = check_vgm(c, 20990.0)
    assert inside.within_tolerance and inside.deviation_kg == pytest.approx(990.0)
    assert inside.relative_deviation == pytest.approx(0.0495) and inside.relative_tolerance == 0.05
    assert check_vgm(c, 19000.0).within_tolerance             # exactly -5 %
    assert not check_vgm(c, 21010.0).within_tolerance
    assert not check_vgm(c, 18990.0).within_tolerance
    assert not check_vgm(c, 20500.0, relative_tolerance=0.02).within_tolerance
    assert check_vgm(c, 20500.0, relative_tolerance=0.03).within_tolerance


def test_vgm_refuses_a_faulty_reading():
    c = good()
    for reading, message in [(math.nan, 'measured_kg must be finite'), (math.inf, 'measured_kg must be finite'),
                             (-10.0, 'measured_kg must not be negative'), (None, 'measured_kg must be a number')]:
        with pytest.raises(ContainerError, match=message):
            check_vgm(c, reading)
    with pytest.raises(ContainerError, match='relative_tolerance'):
        check_vgm(c, 24000.0, relative_tolerance=math.nan)
