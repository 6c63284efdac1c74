"""Categories: create, read, update, delete."""

from __future__ import annotations

from factories import (
    CATEGORY,
    DELETE_CATEGORY,
    UPDATE_CATEGORY,
    create_category,
    error_codes,
    mutate,
    total_count,
)

CATEGORY_QUERY = f"query($id: ID!) {{ category(id: $id) {{ {CATEGORY} }} }}"


class TestCreateCategory:
    async def test_stores_every_field(self, api):
        category = await create_category(
            api, name=" Black Friday ", hierarchy=3, stackingRulesType="EXCLUSIVE"
        )

        assert category["id"].startswith("cat_")
        assert (category["name"], category["hierarchy"], category["stackingRulesType"]) == (
            "Black Friday", 3, "EXCLUSIVE"
        )
        stored = (await api(CATEGORY_QUERY, id=category["id"]))["category"]
        assert stored == category

    async def test_defaults_to_a_common_category(self, api):
        category = await create_category(api, name="Plain")

        assert (category["hierarchy"], category["stackingRulesType"]) == (0, None)
        explicit = await create_category(api, name="Also plain", stackingRulesType=None)
        assert explicit["stackingRulesType"] is None

    async def test_lists_newest_first(self, api):
        a = await create_category(api, name="A")
        b = await create_category(api, name="B")

        data = await api("{ categories { totalCount edges { node { id name } } } }")

        assert data["categories"]["totalCount"] == 2
        assert [e["node"] for e in data["categories"]["edges"]] == [
            {"id": b["id"], "name": "B"}, {"id": a["id"], "name": "A"}
        ]


class TestUpdateCategory:
    async def test_changes_only_given_fields(self, api):
        category = await create_category(api, name="A", hierarchy=1, stackingRulesType="JOINT")

        payload = await mutate(api, UPDATE_CATEGORY, id=category["id"], hierarchy=7)

        assert payload["errors"] == []
        stored = (await api(CATEGORY_QUERY, id=category["id"]))["category"]
        assert (stored["name"], stored["hierarchy"], stored["stackingRulesType"]) == (
            "A", 7, "JOINT"
        )
        assert stored["updatedAt"] is not None

    async def test_renames_and_switches_type(self, api):
        category = await create_category(api, name="A")

        payload = await mutate(
            api, UPDATE_CATEGORY, id=category["id"], name="B", stackingRulesType="EXCLUSIVE"
        )

        assert payload["errors"] == []
        assert (payload["category"]["name"], payload["category"]["stackingRulesType"]) == (
            "B", "EXCLUSIVE"
        )

    async def test_null_makes_it_common_and_omitting_keeps_the_kind(self, api):
        category = await create_category(api, name="A", stackingRulesType="EXCLUSIVE")

        kept = await mutate(api, UPDATE_CATEGORY, id=category["id"], hierarchy=4)
        assert kept["category"]["stackingRulesType"] == "EXCLUSIVE"
        cleared = await mutate(api, UPDATE_CATEGORY, id=category["id"], stackingRulesType=None)

        assert cleared["errors"] == []
        stored = (await api(CATEGORY_QUERY, id=category["id"]))["category"]
        assert (stored["hierarchy"], stored["stackingRulesType"]) == (4, None)

    async def test_keeping_its_own_name_is_not_a_duplicate(self, api):
        category = await create_category(api, name="A")

        payload = await mutate(api, UPDATE_CATEGORY, id=category["id"], name="A", hierarchy=2)

        assert payload["errors"] == []
        assert payload["category"]["hierarchy"] == 2

    async def test_to_another_categorys_name_is_a_duplicate(self, api):
        await create_category(api, name="A")
        b = await create_category(api, name="B")

        payload = await mutate(api, UPDATE_CATEGORY, id=b["id"], name="A")

        assert error_codes(payload) == [("duplicate_name", ["name"])]
        assert (await api(CATEGORY_QUERY, id=b["id"]))["category"]["name"] == "B"


class TestDeleteCategory:
    async def test_by_id(self, api):
        a = await create_category(api, name="A")
        b = await create_category(api, name="B")

        payload = await mutate(api, DELETE_CATEGORY, id=a["id"])

        assert payload == {"deletedId": a["id"], "errors": []}
        assert (await api(CATEGORY_QUERY, id=a["id"]))["category"] is None
        assert (await api(CATEGORY_QUERY, id=b["id"]))["category"]["id"] == b["id"]
        assert await total_count(api, "categories") == 1

    async def test_name_is_free_again_after_delete(self, api):
        a = await create_category(api, name="A")
        await mutate(api, DELETE_CATEGORY, id=a["id"])

        again = await create_category(api, name="A")

        assert again["id"] != a["id"]

    async def test_without_id_is_required(self, api):
        await create_category(api, name="A")

        payload = await mutate(api, DELETE_CATEGORY)

        assert error_codes(payload) == [("required", ["id"])]
        assert await total_count(api, "categories") == 1
