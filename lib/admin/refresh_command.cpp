#include "admin/refresh_command.hpp"

namespace imagewatch::admin {

std::string refresh_command(std::string_view local_address, std::string_view token_placeholder)
{
    const std::string header = "-H 'Authorization: Bearer " + std::string(token_placeholder) + "' ";
    if (local_address.starts_with("unix:"))
        return "curl -X POST " + header + "--unix-socket " + std::string(local_address.substr(5)) +
               " http://localhost" + std::string(refresh_path);
    std::string addr(local_address);
    if (addr.starts_with("0.0.0.0:"))
        addr = "127.0.0.1" + addr.substr(7);
    else if (addr.starts_with("[::]:"))
        addr = "[::1]" + addr.substr(4);
    return "curl -X POST " + header + "http://" + addr + std::string(refresh_path);
}

std::string token_placeholder(std::string_view token_env, std::string_view token_file)
{
    if (!token_file.empty())
        return "$(cat " + std::string(token_file) + ")";
    if (!token_env.empty())
        return "$" + std::string(token_env);
    return "TOKEN";
}

}  // namespace imagewatch::admin
