// The C++ wrapper, built out of tree against an installed greenapi (scripts/test-install.sh).
#include <greenapi.hpp>

#include <cstdio>
#include <cstdlib>

int main()
{
    greenapi::Options options;
    options.api_url = std::getenv("GREEN_API_URL");
    options.proxy = "";
    greenapi::Client client(std::getenv("GREEN_API_ID_INSTANCE"), std::getenv("GREEN_API_TOKEN"),
                            options);
    greenapi::Avatar avatar = client.get_avatar("79001234567");
    bool ok = avatar.url_avatar == "https://pps.whatsapp.net/v/stand-in/79001234567@c.us.jpg";
    try {
        client.get_avatar("status-401@c.us");
        ok = false;
    } catch (const greenapi::Error &e) {
        ok = ok && e.code() == GA_UNAUTHORIZED && e.http_status() == 401;
    }
    std::printf("%s: greenapi %s\n", ok ? "ok" : "FAILED", greenapi::version().c_str());
    return ok ? 0 : 1;
}
