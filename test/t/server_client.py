#!/usr/bin/python3
"""server_client.py -- the client side of 096_server.pl: each command drives
partkv-server at 127.0.0.1:PORT and prints one "ok NAME" or "not ok NAME: why"
line per check (the Perl test turns them into TAP)."""
import asyncio
import http.client
import json
import os
import resource
import socket
import sys
import time

import boto3
import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

PORT = int(os.environ['PARTKV_HTTP_PORT'])
KEY = os.environ.get('PARTKV_KEY', 'AKIAUNUSED')
SECRET = os.environ.get('PARTKV_SECRET', 'x' * 40)
# the test's stand-in partkv.dynamodb() knows Echo, Fail, Secret, Boom, Slow
STANDIN = os.environ.get('PARTKV_STANDIN') == '1'


def check(name, cond, why=''):
    print(('ok %s' % name) if cond else ('not ok %s: %s' % (name, why)), flush=True)


def raw(body, target='DynamoDB_20120810.ListTables', ctype='application/x-amz-json-1.0',
        headers=None, method='POST'):
    c = http.client.HTTPConnection('127.0.0.1', PORT, timeout=30)
    h = {'Content-Type': ctype} if ctype else {}
    if target:
        h['X-Amz-Target'] = target
    h.update(headers or {})
    c.request(method, '/', body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data, r


def signed(op, body, key=None, secret=None):
    req = AWSRequest(method='POST', url='http://127.0.0.1:%d/' % PORT, data=body,
                     headers={'Content-Type': 'application/x-amz-json-1.0',
                              'X-Amz-Target': 'DynamoDB_20120810.' + op})
    SigV4Auth(Credentials(key or KEY, secret or SECRET), 'dynamodb', 'us-east-1').add_auth(req)
    return raw(body, 'DynamoDB_20120810.' + op, headers=dict(req.headers.items()))


def error_type(data):
    try:
        return json.loads(data).get('__type', '').split('#')[-1]
    except ValueError:
        return data[:60]


def client(key=None, secret=None):
    return boto3.client('dynamodb', endpoint_url='http://127.0.0.1:%d' % PORT,
                        region_name='us-east-1', aws_access_key_id=key or KEY,
                        aws_secret_access_key=secret or SECRET,
                        config=botocore.config.Config(retries={'max_attempts': 1}))


def boto_error(call):
    try:
        call()
        return 'no error'
    except botocore.exceptions.ClientError as e:
        return e.response['Error']['Code']


def cmd_sigv4():
    r = client().list_tables()
    check('boto3 list_tables with a good key', r.get('TableNames') == [], r)
    s, data, resp = signed('ListTables', b'{}')
    check('a signed request is answered', s == 200, data)
    check('x-amzn-RequestId is 52 characters', len(resp.getheader('x-amzn-RequestId') or '') == 52)
    import zlib
    check('x-amz-crc32 is the body\'s CRC32', resp.getheader('x-amz-crc32') == str(zlib.crc32(data)))
    e = boto_error(lambda: client(secret='y' * 40).list_tables())
    check('wrong secret: InvalidSignatureException', e == 'InvalidSignatureException', e)
    e = boto_error(lambda: client(key='AKIAUNKNOWNUNKNOWN00').list_tables())
    check('unknown key: UnrecognizedClientException', e == 'UnrecognizedClientException', e)
    s, data, _ = raw(b'{}')
    check('no signature: MissingAuthenticationTokenException',
          s == 400 and error_type(data) == 'MissingAuthenticationTokenException', data)
    s, data, _ = raw(b'{}', headers={'Authorization': 'AWS4-HMAC-SHA256 Credential=a/b'})
    check('incomplete signature: IncompleteSignatureException',
          s == 400 and error_type(data) == 'IncompleteSignatureException', data)
    if not STANDIN:
        return
    s, data, _ = signed('Echo', b'{"a": {"S": "x"}}')
    check('a signed request runs as the key\'s role', s == 200 and json.loads(data).get('user') == 'app', data)
    s, data, _ = signed('Secret', b'{}')
    check('a role lacking a privilege: AccessDeniedException',
          s == 400 and error_type(data) == 'AccessDeniedException', data)
    s, data, _ = signed('Fail', b'{}')
    check('the dispatcher\'s error body passes through',
          s == 400 and json.loads(data) == {"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
                                            "message": "The conditional request failed",
                                            "Item": {"pk": {"S": "a"}}}, data)
    s, data, _ = signed('Boom', b'{}')
    check('an unmapped database error is a 500 InternalServerError',
          s == 500 and error_type(data) == 'InternalServerError' and b'secret detail' not in data, data)


def cmd_revoked():
    e = boto_error(lambda: client().list_tables())
    check('revoked key: UnrecognizedClientException', e == 'UnrecognizedClientException', e)


def cmd_none():
    if STANDIN:
        s, data, _ = raw(b'{"x": 1}', 'DynamoDB_20120810.Echo')
        check('--auth none: an unsigned request runs as the login role',
              s == 200 and json.loads(data).get('user') == 'srv', data)
    r = client(key='anything', secret='whatever').list_tables()
    check('--auth none: any key works', r.get('TableNames') == [], r)
    s, data, _ = raw(b'{}', 'DynamoDBStreams_20120810.ListStreams')
    check('the Streams target reaches the dispatcher', s == 200, data)


def cmd_hostile():
    corpus = os.environ['PARTKV_CORPUS']
    for f in sorted(os.listdir(corpus)):
        if f == 'README':
            continue
        body = open(os.path.join(corpus, f), 'rb').read()
        s, data, _ = raw(body, 'DynamoDB_20120810.Echo')
        check('hostile body %s: SerializationException' % f,
              s == 400 and error_type(data) == 'SerializationException', data)
    s, data, _ = raw(b'{}', 'DynamoDB_20120810.Echo', ctype='text/plain')
    check('wrong content type: 404 UnknownOperationException', s == 404 and b'UnknownOperation' in data, data)
    s, data, _ = raw(b'{}', None)
    check('missing target: UnknownOperationException', s == 400 and error_type(data) == 'UnknownOperationException', data)
    s, data, _ = raw(b'{}', 'Foo.Bar')
    check('foreign target: UnknownOperationException', s == 400 and error_type(data) == 'UnknownOperationException', data)
    s, data, _ = raw(b'{"a": "' + b'x' * 5000 + b'"}', 'DynamoDB_20120810.Echo')
    check('body over --max-body: 413', s == 413, (s, data[:100]))
    s, data, resp = raw(b'{}', 'DynamoDB_20120810.ListTables', ctype='application/x-amz-json-1.1')
    check('JSON 1.1 is answered in 1.1', s == 200 and resp.getheader('Content-Type') == 'application/x-amz-json-1.1', data)
    s, data, _ = raw(None, None, method='GET')
    check('GET / health check', s == 200 and data.startswith(b'healthy'), (s, data))


def cmd_idle():
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
    socks = []
    for _ in range(2000):
        s = socket.create_connection(('127.0.0.1', PORT))
        socks.append(s)
    s, data, _ = raw(b'{}')
    check('2,000 idle connections: another client is answered', s == 200, data)
    for s in socks:
        s.close()


def cmd_slow():
    """one byte a second: the server must cut it (--request-timeout 2,
    --idle-timeout 2: within 4 s of connecting, well before it is done)"""
    req = (b'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\n'
           b'X-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Length: 2\r\n\r\n{}')
    s = socket.create_connection(('127.0.0.1', PORT))
    start = time.time()
    cut = None
    for b in req:
        try:
            s.send(bytes([b]))
        except OSError:
            cut = time.time() - start
            break
        s.settimeout(1.0)
        try:
            if s.recv(100) == b'':
                cut = time.time() - start
                break
        except socket.timeout:
            pass
        except OSError:
            cut = time.time() - start
            break
    check('a client sending a byte a second is cut', cut is not None and cut < 8, cut)


async def one(i):
    r, w = await asyncio.open_connection('127.0.0.1', PORT)
    body = b'{}'
    w.write(b'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\n'
            b'X-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Length: 2\r\nConnection: close\r\n\r\n' + body)
    await w.drain()
    data = await r.read()
    w.close()
    return data.startswith(b'HTTP/1.1 200')


def cmd_concurrent():
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))

    async def main():
        return await asyncio.gather(*[one(i) for i in range(1000)], return_exceptions=True)
    results = asyncio.run(main())
    n = sum(1 for x in results if x is True)
    check('1,000 concurrent requests all answered 200', n == 1000, '%d of 1000' % n)


def cmd_many():
    n = int(sys.argv[2])
    c = http.client.HTTPConnection('127.0.0.1', PORT, timeout=30)
    ok = 0
    for i in range(n):
        c.request('POST', '/', body=b'{"i": %d}' % i, headers={'Content-Type': 'application/x-amz-json-1.0',
                                                               'X-Amz-Target': 'DynamoDB_20120810.ListTables'})
        r = c.getresponse()
        r.read()
        ok += r.status == 200
    check('%d keep-alive requests answered' % n, ok == n, ok)


def cmd_slowop():
    s, data, _ = raw(b'{}', 'DynamoDB_20120810.Slow')
    check('an in-flight request survives SIGTERM', s == 200, (s, data))


def cmd_cli():
    import subprocess
    env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET,
               AWS_DEFAULT_REGION='us-east-1', HOME=os.environ.get('TMPDIR', '/tmp'))
    p = subprocess.run(['aws', 'dynamodb', 'list-tables', '--endpoint-url', 'http://127.0.0.1:%d' % PORT,
                        '--output', 'json'], env=env, capture_output=True, text=True)
    ok = p.returncode == 0 and json.loads(p.stdout or 'null') == {'TableNames': []}
    check('aws dynamodb list-tables', ok, p.stdout + p.stderr)


globals()['cmd_' + sys.argv[1]]()
