#include "core/json_fields.hpp"

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

using namespace imagewatch;

namespace {

boost::json::object parse_object(std::string_view s) { return boost::json::parse(s).as_object(); }

}  // namespace

TEST_CASE("string_field and object_field: absent or wrongly typed fields are unset")
{
    auto o = parse_object(R"({"s": "x", "n": 1, "z": null, "o": {"k": "v"}, "a": []})");
    CHECK(string_field(o, "s") == "x");
    CHECK(string_field(o, "n") == "");
    CHECK(string_field(o, "z") == "");
    CHECK(string_field(o, "missing") == "");
    REQUIRE(object_field(o, "o") != nullptr);
    CHECK(string_field(*object_field(o, "o"), "k") == "v");
    CHECK(object_field(o, "a") == nullptr);
    CHECK(object_field(o, "s") == nullptr);
    CHECK(object_field(o, "missing") == nullptr);
}

TEST_CASE("bool_field and int_field accept a null object and exact types only")
{
    auto o = parse_object(R"({"t": true, "f": false, "one": 1, "neg": -7, "big": 18446744073709551615, "d": 2.0,
                              "s": "1"})");
    CHECK(bool_field(&o, "t"));
    CHECK_FALSE(bool_field(&o, "f"));
    CHECK_FALSE(bool_field(&o, "one"));
    CHECK_FALSE(bool_field(&o, "missing"));
    CHECK_FALSE(bool_field(nullptr, "t"));
    CHECK(int_field(&o, "one") == 1);
    CHECK(int_field(&o, "neg") == -7);
    CHECK(int_field(&o, "big") == 0);  // uint64 only
    CHECK(int_field(&o, "d") == 0);
    CHECK(int_field(&o, "s") == 0);
    CHECK(int_field(&o, "missing") == 0);
    CHECK(int_field(nullptr, "one") == 0);
}

TEST_CASE("string_view_field views the string inside the object; string_or_null writes null for none")
{
    auto o = parse_object(R"({"s": "x", "n": 1})");
    CHECK(string_view_field(o, "s") == "x");
    CHECK(string_view_field(o, "s").data() == o.at("s").get_string().data());  // no copy
    CHECK(string_view_field(o, "n").empty());
    CHECK(string_view_field(o, "missing").empty());
    CHECK(string_or_null(std::string("d")) == boost::json::value("d"));
    CHECK(string_or_null(std::nullopt).is_null());
}
