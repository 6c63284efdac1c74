"""Pure code generation: configuration, capacity, feasibility, randomness shape."""

from __future__ import annotations

import pytest

from app.services import codes


class TestParseConfig:
    def test_defaults(self):
        config = codes.parse_config(None)
        assert (config.charset, config.pattern, config.prefix, config.postfix) == (
            codes.ALPHANUMERIC, "########", "", ""
        )
        assert config.capacity == 62**8

    def test_pattern_and_matching_length(self):
        config = codes.parse_config({"charset": "abc", "length": 3, "pattern": "X-##-#"})
        assert (config.charset, config.random_positions, config.capacity) == ("abc", 3, 27)

    def test_named_charsets(self):
        assert codes.parse_config({"charset": "numbers"}).charset == "0123456789"

    @pytest.mark.parametrize("data, field", [
        ({"charset": "a"}, "charset"), ({"charset": "ab#"}, "charset"),
        ({"length": 0}, "length"), ({"pattern": "ABC"}, "pattern"),
        ({"prefix": "a b"}, "prefix"), ({"length": 201}, "length"),
        ({"charset": ""}, "charset"), ({"charset": "aabbc"}, "charset"),
        ({"charset": "ab\u0301"}, "charset"), ({"charset": "A\u212b\u00c5"}, "charset"),
        ({"charset": "a\tb"}, "charset"), ({"pattern": ""}, "pattern"),
        ({"pattern": "##-##", "length": 8}, "length"), ({"length": True}, "length"),
    ])
    def test_refusals(self, data, field):
        with pytest.raises(codes.CodeConfigError) as caught:
            codes.parse_config(data)
        assert caught.value.field == field


class TestFeasibility:
    def test_more_than_capacity(self):
        config = codes.parse_config({"charset": "01", "length": 3})
        with pytest.raises(codes.CodeConfigError, match="Not possible to generate"):
            codes.check_feasible(config, 9)

    def test_more_than_half_is_refused_so_random_draws_terminate(self):
        config = codes.parse_config({"charset": "01", "length": 3})
        codes.check_feasible(config, 4)
        with pytest.raises(codes.CodeConfigError, match="more than half"):
            codes.check_feasible(config, 5)


class TestGenerator:
    def test_batch_is_distinct_and_shaped(self):
        config = codes.parse_config({"charset": "ABC", "pattern": "##-##", "prefix": "P",
                                     "postfix": "Z"})
        batch = codes.CodeGenerator(config).batch(40)
        assert len(set(batch)) == 40
        assert all(c[0] == "P" and c[3] == "-" and c[-1] == "Z" and len(c) == 7 for c in batch)
        assert all(set(c[1:3] + c[4:6]) <= set("ABC") for c in batch)

    def test_uses_every_character(self):
        config = codes.parse_config({"charset": "numbers", "length": 4})
        chars = set("".join(codes.CodeGenerator(config).batch(200)))
        assert chars == set("0123456789")
