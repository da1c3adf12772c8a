#pragma once
// Lenient accessors for JSON the Docker Engine and registries send, where absent, null and
// wrongly-typed fields all mean "unset". Pure, header-only.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace imagewatch {

// o[key] as a view of the string inside o; "" when absent or not a string.
inline std::string_view string_view_field(const boost::json::object& o, std::string_view key)
{
    if (const auto* v = o.if_contains(key); v && v->is_string())
        return v->get_string();
    return {};
}

// o[key] as a string of its own; "" when absent or not a string.
inline std::string string_field(const boost::json::object& o, std::string_view key)
{
    return std::string(string_view_field(o, key));
}

// o[key] as an object; nullptr when absent or not an object.
inline const boost::json::object* object_field(const boost::json::object& o, std::string_view key)
{
    if (const auto* v = o.if_contains(key); v && v->is_object())
        return &v->get_object();
    return nullptr;
}

// o[key] when it is the boolean true; false when o is null, or the field is absent or not a bool.
inline bool bool_field(const boost::json::object* o, std::string_view key)
{
    if (!o)
        return false;
    const auto* v = o->if_contains(key);
    return v && v->is_bool() && v->get_bool();
}

// o[key] as a signed 64-bit integer; 0 when o is null, or the field is absent or not an int64
// (unsigned and floating-point numbers included).
inline std::int64_t int_field(const boost::json::object* o, std::string_view key)
{
    if (!o)
        return 0;
    const auto* v = o->if_contains(key);
    return v && v->is_int64() ? v->get_int64() : 0;
}

// v as a JSON string, or null when there is none.
inline boost::json::value string_or_null(const std::optional<std::string>& v)
{
    return v ? boost::json::value(*v) : boost::json::value(nullptr);
}

}  // namespace imagewatch
