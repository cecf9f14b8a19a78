-- endpoint.lua -- the wrk script of the endpoint benchmark (test/bench/endpoint.sh):
-- one DynamoDB request per call, on a random existing key of table "bench",
-- sent the same way to partkv-server (--auth none) and to dynalite.
--   BENCH_OP              get_item, put_item or query
--   BENCH_PARTITION_KEYS  keys c1..cN;  BENCH_SORT_KEYS  s1..sM
-- Nothing is signed: both servers accept any Authorization header.
local op = os.getenv("BENCH_OP") or "get_item"
local pks = tonumber(os.getenv("BENCH_PARTITION_KEYS") or "2000")
local sks = tonumber(os.getenv("BENCH_SORT_KEYS") or "10")
local targets = { get_item = "GetItem", put_item = "PutItem", query = "Query" }

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-amz-json-1.0"
wrk.headers["X-Amz-Target"] = "DynamoDB_20120810." .. assert(targets[op], "BENCH_OP")
wrk.headers["X-Amz-Date"] = "20260101T000000Z"
wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/dynamodb/aws4_request, " ..
	"SignedHeaders=host;x-amz-date, Signature=00"

-- each thread its own sequence (a table's address differs per Lua state)
function init(args)
	math.randomseed(os.time() + tonumber(string.match(tostring({}), "0x(%x+)") or "1", 16) % 100003)
end

function request()
	local p = math.random(1, pks)
	local body
	if op == "get_item" then
		body = string.format('{"TableName":"bench","Key":{"pk":{"S":"c%d"},"sk":{"S":"s%d"}}}',
			p, math.random(1, sks))
	elseif op == "put_item" then
		body = string.format('{"TableName":"bench","Item":{"pk":{"S":"c%d"},"sk":{"S":"s%d"},"v":{"N":"%d"}}}',
			p, math.random(1, sks), math.random(1, 1000000000))
	else
		body = string.format('{"TableName":"bench","KeyConditionExpression":"pk = :p",' ..
			'"ExpressionAttributeValues":{":p":{"S":"c%d"}}}', p)
	end
	return wrk.format(nil, nil, nil, body)
end
