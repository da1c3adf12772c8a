#include "admin/refresh_command.hpp"

#include <doctest/doctest.h>

using namespace imagewatch::admin;

TEST_CASE("refresh_command: the listener as curl reaches it, the token as a placeholder")
{
    CHECK(refresh_command("127.0.0.1:8080", "$ADMIN_TOKEN") ==
          "curl -X POST -H 'Authorization: Bearer $ADMIN_TOKEN' http://127.0.0.1:8080/admin/workspace-images/refresh");
    CHECK(refresh_command("0.0.0.0:9000", "$T") ==
          "curl -X POST -H 'Authorization: Bearer $T' http://127.0.0.1:9000/admin/workspace-images/refresh");
    CHECK(refresh_command("[::]:8080", "$T") ==
          "curl -X POST -H 'Authorization: Bearer $T' http://[::1]:8080/admin/workspace-images/refresh");
    CHECK(refresh_command("[::1]:8080", "$T") ==
          "curl -X POST -H 'Authorization: Bearer $T' http://[::1]:8080/admin/workspace-images/refresh");
    CHECK(refresh_command("unix:/run/imagewatch/admin.sock", "$T") ==
          "curl -X POST -H 'Authorization: Bearer $T' --unix-socket /run/imagewatch/admin.sock "
          "http://localhost/admin/workspace-images/refresh");
}

TEST_CASE("token_placeholder: names the source, never holds the token")
{
    CHECK(token_placeholder("ADMIN_TOKEN", "") == "$ADMIN_TOKEN");
    CHECK(token_placeholder("ADMIN_TOKEN", "/run/secrets/admin_token") == "$(cat /run/secrets/admin_token)");
    CHECK(token_placeholder("", "") == "TOKEN");
}
