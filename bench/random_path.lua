-- wrk: each request asks for a random one of N generated parcels (YX + 11 digits).
-- PATH_KIND=detail: /api/v1/shipments/<carrier>/<number> (bearer token in TOKEN);
-- PATH_KIND=track:  /api/v1/track/<number>?phone_last4=<digits>
local carriers = {"sf", "zto", "yto", "sto", "yunda", "jt", "ems", "chinapost"}
local n = tonumber(os.getenv("N") or "1000000")
local kind = os.getenv("PATH_KIND") or "detail"
local token = os.getenv("TOKEN")

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed or os.time())
  if token then wrk.headers["Authorization"] = "Bearer " .. token end
end

function request()
  local g = math.random(1, n)
  local number = string.format("YX%011d", g)
  if kind == "track" then
    return wrk.format("GET", string.format("/api/v1/track/%s?phone_last4=%04d", number, g % 10000))
  end
  return wrk.format("GET", string.format("/api/v1/shipments/%s/%s", carriers[(g * 7) % 8 + 1], number))
end
