#!/usr/bin/python3
"""endpoint.py -- the client side of 097_endpoint.pl: DynamoDB's data
operations through partkv-server, driven by boto3 (command "boto3"), the AWS
CLI ("cli") and SigV4 keys of roles with and without privileges ("roles").
Each check prints "ok NAME" or "not ok NAME: why" (the Perl test turns them
into TAP).

Debian's botocore (1.29) predates ReturnValuesOnConditionCheckFailure (2023):
the model is extended here, in a copy on AWS_DATA_PATH, with that request
member and the Item of ConditionalCheckFailedException and of a cancellation
reason, as newer models have them, so that boto3 sends and parses them as a
current SDK does."""
import copy
import json
import os
import subprocess
import sys
import time

import botocore.session

PORT = int(os.environ['PARTKV_HTTP_PORT'])
URL = 'http://127.0.0.1:%d' % PORT
KEY = os.environ.get('PARTKV_KEY', 'AKIAANY')
SECRET = os.environ.get('PARTKV_SECRET', 'x' * 40)
TMP = os.environ.get('TMPDIR', '/tmp')
TABLE = 'orders'
failures = 0


def check(name, cond, why=''):
    global failures
    if not cond:
        failures += 1
    print(('ok %s' % name) if cond else ('not ok %s: %r' % (name, why)), flush=True)


def extend_model():
    """write the extended dynamodb model to TMP/models; return that path"""
    loader = botocore.session.get_session().get_component('data_loader')
    model = loader.load_service_model('dynamodb', 'service-2')
    version = model['metadata']['apiVersion']
    shapes = model['shapes']
    shapes.setdefault('ReturnValuesOnConditionCheckFailure',
                      {'type': 'string', 'enum': ['ALL_OLD', 'NONE']})
    for op in ('PutItemInput', 'UpdateItemInput', 'DeleteItemInput', 'Put', 'Update', 'Delete',
               'ConditionCheck'):
        shapes[op]['members'].setdefault('ReturnValuesOnConditionCheckFailure',
                                         {'shape': 'ReturnValuesOnConditionCheckFailure'})
    shapes['ConditionalCheckFailedException']['members'].setdefault('Item', {'shape': 'AttributeMap'})
    shapes['CancellationReason']['members'].setdefault('Item', {'shape': 'AttributeMap'})
    d = os.path.join(TMP, 'models', 'dynamodb', version)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'service-2.json'), 'w') as f:
        json.dump(model, f)
    return os.path.join(TMP, 'models')


os.environ['AWS_DATA_PATH'] = extend_model()
import boto3  # noqa: E402 (after AWS_DATA_PATH)
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402


def client(service='dynamodb', key=None, secret=None):
    return boto3.client(service, endpoint_url=URL, region_name='us-east-1',
                        aws_access_key_id=key or KEY, aws_secret_access_key=secret or SECRET,
                        config=Config(retries={'max_attempts': 1}))


def error_of(call):
    """the ClientError CALL raises (None when it succeeds)"""
    try:
        call()
    except ClientError as e:
        return e
    return None


def code(e):
    return e.response['Error']['Code'] if e else 'no error'


def S(v):
    return {'S': v}


def N(v):
    return {'N': str(v)}


def item(c, n, status=None, price=None):
    it = {'pk': S(c), 'sk': N(n), 'price': N(price if price is not None else 100 - n),
          'tags': {'SS': ['a', 'b%d' % n]}, 'doc': {'M': {'n': N(n), 'l': {'L': [S('x'), {'BOOL': True}]}}}}
    if status:
        it['status'] = S(status)
    return it


def wait_for(what, fn, timeout=60):
    """poll FN until it returns something true (that value) or TIMEOUT s pass (None)"""
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.3)
    print('# waited %ds for %s in vain' % (timeout, what), flush=True)
    return None


def create_table(db):
    r = db.create_table(
        TableName=TABLE, BillingMode='PAY_PER_REQUEST',
        AttributeDefinitions=[{'AttributeName': 'pk', 'AttributeType': 'S'},
                              {'AttributeName': 'sk', 'AttributeType': 'N'},
                              {'AttributeName': 'price', 'AttributeType': 'N'},
                              {'AttributeName': 'status', 'AttributeType': 'S'}],
        KeySchema=[{'AttributeName': 'pk', 'KeyType': 'HASH'},
                   {'AttributeName': 'sk', 'KeyType': 'RANGE'}],
        LocalSecondaryIndexes=[{'IndexName': 'by_price',
                                'KeySchema': [{'AttributeName': 'pk', 'KeyType': 'HASH'},
                                              {'AttributeName': 'price', 'KeyType': 'RANGE'}],
                                'Projection': {'ProjectionType': 'ALL'}}],
        GlobalSecondaryIndexes=[{'IndexName': 'by_status',
                                 'KeySchema': [{'AttributeName': 'status', 'KeyType': 'HASH'},
                                               {'AttributeName': 'sk', 'KeyType': 'RANGE'}],
                                 'Projection': {'ProjectionType': 'ALL'}}],
        StreamSpecification={'StreamEnabled': True, 'StreamViewType': 'NEW_AND_OLD_IMAGES'})
    t = r['TableDescription']
    check('create_table: name and key schema', t['TableName'] == TABLE and
          [k['AttributeName'] for k in t['KeySchema']] == ['pk', 'sk'], t)
    check('create_table: the LSI and the GSI are described',
          [i['IndexName'] for i in t.get('LocalSecondaryIndexes', [])] == ['by_price'] and
          [i['IndexName'] for i in t.get('GlobalSecondaryIndexes', [])] == ['by_status'], t)
    check('create_table: the stream is NEW_AND_OLD_IMAGES with an ARN',
          t.get('StreamSpecification') == {'StreamEnabled': True, 'StreamViewType': 'NEW_AND_OLD_IMAGES'} and
          ':table/orders/stream/' in t.get('LatestStreamArn', ''), t)
    db.get_waiter('table_exists').wait(TableName=TABLE, WaiterConfig={'Delay': 1, 'MaxAttempts': 30})
    t = db.describe_table(TableName=TABLE)['Table']
    check('describe_table: ACTIVE', t['TableStatus'] == 'ACTIVE', t)


def items_crud(db):
    a = item('c1', 1, 'new')
    r = db.put_item(TableName=TABLE, Item=a, ReturnValues='ALL_OLD')
    check('put_item of a new item, ALL_OLD: no Attributes', 'Attributes' not in r, r)
    a2 = dict(a, price=N(7))
    r = db.put_item(TableName=TABLE, Item=a2, ReturnValues='ALL_OLD')
    check('put_item replacing, ALL_OLD: the old item', r.get('Attributes') == a, r)
    r = db.put_item(TableName=TABLE, Item=a2, ReturnValues='NONE')
    check('put_item, NONE: no Attributes', 'Attributes' not in r, r)
    e = error_of(lambda: db.put_item(TableName=TABLE, Item=a, ConditionExpression='attribute_not_exists(pk)',
                                     ReturnValuesOnConditionCheckFailure='ALL_OLD'))
    check('put_item, failed condition: ConditionalCheckFailedException',
          code(e) == 'ConditionalCheckFailedException' and
          e.response['Error']['Message'] == 'The conditional request failed', e and e.response)
    check('... with ReturnValuesOnConditionCheckFailure ALL_OLD: Item in the error',
          e is not None and e.response.get('Item') == a2, e and e.response)
    e = error_of(lambda: db.put_item(TableName=TABLE, Item=a, ConditionExpression='attribute_not_exists(pk)'))
    check('... without it: no Item', e is not None and 'Item' not in e.response, e and e.response)

    r = db.get_item(TableName=TABLE, Key={'pk': S('c1'), 'sk': N(1)}, ConsistentRead=True)
    check('get_item: the item, typed', r.get('Item') == a2, r)
    r = db.get_item(TableName=TABLE, Key={'pk': S('c1'), 'sk': N(1)},
                    ProjectionExpression='#d.l[1], tags', ExpressionAttributeNames={'#d': 'doc'})
    check('get_item with a projection', r.get('Item') == {'doc': {'M': {'l': {'L': [{'BOOL': True}]}}},
                                                          'tags': a['tags']}, r)
    r = db.get_item(TableName=TABLE, Key={'pk': S('c1'), 'sk': N(999)})
    check('get_item of a missing item: no Item member', 'Item' not in r, r)

    key = {'pk': S('c1'), 'sk': N(1)}
    upd = dict(UpdateExpression='SET #s = :s, price = price + :one ADD tags :t',
               ExpressionAttributeNames={'#s': 'status'}, TableName=TABLE, Key=key)
    cur = dict(a2)
    expect = {}
    for rv in ('NONE', 'ALL_OLD', 'UPDATED_OLD', 'ALL_NEW', 'UPDATED_NEW'):
        old = copy.deepcopy(cur)
        n = int(cur['price']['N']) + 1
        cur = dict(cur, status=S('st-' + rv), price=N(n),
                   tags={'SS': sorted(set(cur['tags']['SS']) | {rv})})
        expect = {'NONE': None, 'ALL_OLD': old, 'ALL_NEW': cur,
                  'UPDATED_OLD': {k: old[k] for k in ('status', 'price', 'tags')},
                  'UPDATED_NEW': {k: cur[k] for k in ('status', 'price', 'tags')}}[rv]
        r = db.update_item(ExpressionAttributeValues={':s': S('st-' + rv), ':one': N(1), ':t': {'SS': [rv]},
                                                      ':p': old['price']},
                           ConditionExpression='price = :p', ReturnValues=rv, **upd)
        got = r.get('Attributes')
        if got and 'tags' in got:
            got['tags']['SS'] = sorted(got['tags']['SS'])
        check('update_item with a condition, ReturnValues %s' % rv, got == expect, (r, expect))
    e = error_of(lambda: db.update_item(ExpressionAttributeValues={':s': S('x'), ':one': N(1), ':t': {'SS': ['z']},
                                                                   ':p': N(-1)},
                                        ConditionExpression='price = :p', ReturnValues='ALL_NEW',
                                        ReturnValuesOnConditionCheckFailure='ALL_OLD', **upd))
    got = e.response.get('Item') if e else None
    if got and 'tags' in got:
        got['tags']['SS'] = sorted(got['tags']['SS'])
    check('update_item, failed condition: the current Item in the error',
          code(e) == 'ConditionalCheckFailedException' and got == cur, e and e.response)
    r = db.update_item(TableName=TABLE, Key={'pk': S('c1'), 'sk': N(2)}, UpdateExpression='SET v = :v',
                       ExpressionAttributeValues={':v': S('made')}, ReturnValues='ALL_NEW')
    check('update_item creating an item, ALL_NEW',
          r.get('Attributes') == {'pk': S('c1'), 'sk': N(2), 'v': S('made')}, r)

    e = error_of(lambda: db.delete_item(TableName=TABLE, Key={'pk': S('c1'), 'sk': N(2)},
                                        ConditionExpression='v = :x', ExpressionAttributeValues={':x': S('no')},
                                        ReturnValuesOnConditionCheckFailure='NONE'))
    check('delete_item, failed condition, NONE: no Item',
          code(e) == 'ConditionalCheckFailedException' and 'Item' not in e.response, e and e.response)
    r = db.delete_item(TableName=TABLE, Key={'pk': S('c1'), 'sk': N(2)}, ConditionExpression='v = :x',
                       ExpressionAttributeValues={':x': S('made')}, ReturnValues='ALL_OLD')
    check('delete_item with a condition, ALL_OLD', r.get('Attributes') == {'pk': S('c1'), 'sk': N(2), 'v': S('made')}, r)
    r = db.delete_item(TableName=TABLE, Key={'pk': S('c1'), 'sk': N(2)}, ReturnValues='ALL_OLD')
    check('delete_item of a missing item: no Attributes', 'Attributes' not in r, r)
    e = error_of(lambda: db.put_item(TableName=TABLE, Item=a, ReturnValues='ALL_NEW'))
    check('put_item, ReturnValues ALL_NEW: ValidationException', code(e) == 'ValidationException', e and e.response)
    return cur


def batch(db):
    reqs = [{'PutRequest': {'Item': item('c2', n, 'even' if n % 2 == 0 else 'odd', price=(n * 7) % 25)}}
            for n in range(25)]
    r = db.batch_write_item(RequestItems={TABLE: reqs})
    check('batch_write_item of 25: UnprocessedItems is {}', r.get('UnprocessedItems') == {}, r)
    keys = [{'pk': S('c2'), 'sk': N(n)} for n in (3, 4, 5)] + [{'pk': S('c2'), 'sk': N(99)}]
    r = db.batch_get_item(RequestItems={TABLE: {'Keys': keys, 'ProjectionExpression': 'sk, price'}})
    got = sorted(int(i['sk']['N']) for i in r['Responses'].get(TABLE, []))
    check('batch_get_item: the 3 existing items', got == [3, 4, 5], r)
    check('batch_get_item: UnprocessedKeys is {}', r.get('UnprocessedKeys') == {}, r)
    check('batch_get_item: the projection applies', all(set(i) == {'sk', 'price'} for i in r['Responses'][TABLE]), r)
    e = error_of(lambda: db.batch_write_item(RequestItems={TABLE: [
        {'PutRequest': {'Item': item('c2', 1)}}, {'PutRequest': {'Item': item('c2', 1)}}]}))
    check('batch_write_item with the same key twice: ValidationException', code(e) == 'ValidationException',
          e and e.response)


def query_scan(db):
    kc = dict(TableName=TABLE, KeyConditionExpression='pk = :p', ExpressionAttributeValues={':p': S('c2')})
    seen, pages, start = [], 0, None
    while True:
        args = dict(kc, Limit=10)
        if start:
            args['ExclusiveStartKey'] = start
        r = db.query(**args)
        pages += 1
        seen += [int(i['sk']['N']) for i in r['Items']]
        start = r.get('LastEvaluatedKey')
        if not start or pages > 10:
            break
    check('query with Limit 10: pages of 10, 10, 5 in key order, LastEvaluatedKey -> ExclusiveStartKey',
          seen == list(range(25)) and pages == 3, (pages, seen))
    r = db.query(Limit=10, **kc)
    check('query: LastEvaluatedKey is the last key returned',
          r.get('LastEvaluatedKey') == {'pk': S('c2'), 'sk': N(9)} and r['Count'] == 10 and r['ScannedCount'] == 10, r)
    r = db.query(ScanIndexForward=False, Limit=3, **kc)
    check('query backwards', [int(i['sk']['N']) for i in r['Items']] == [24, 23, 22], r)
    r = db.query(FilterExpression='#s = :odd', ExpressionAttributeNames={'#s': 'status'},
                 TableName=TABLE, KeyConditionExpression='pk = :p AND sk BETWEEN :a AND :b',
                 ExpressionAttributeValues={':p': S('c2'), ':odd': S('odd'), ':a': N(5), ':b': N(12)})
    check('query with a range and a filter: Count and ScannedCount',
          [int(i['sk']['N']) for i in r['Items']] == [5, 7, 9, 11] and r['Count'] == 4 and r['ScannedCount'] == 8, r)
    pag = db.get_paginator('query')
    pages = list(pag.paginate(PaginationConfig={'PageSize': 7}, **kc))
    check('boto3 query paginator, PageSize 7: 4 pages, 25 items',
          len(pages) == 4 and sum(p['Count'] for p in pages) == 25 and
          [int(i['sk']['N']) for p in pages for i in p['Items']] == list(range(25)), [p['Count'] for p in pages])

    r = db.query(TableName=TABLE, IndexName='by_price', KeyConditionExpression='pk = :p AND price < :x',
                 ExpressionAttributeValues={':p': S('c2'), ':x': N(5)})
    want = sorted((n * 7 % 25, n) for n in range(25) if n * 7 % 25 < 5)
    check('LSI query: in price order', [(int(i['price']['N']), int(i['sk']['N'])) for i in r['Items']] == want,
          (r, want))
    r = db.query(TableName=TABLE, IndexName='by_price', KeyConditionExpression='pk = :p', Limit=2,
                 ExpressionAttributeValues={':p': S('c2')})
    lek = r.get('LastEvaluatedKey', {})
    check('LSI query: LastEvaluatedKey holds the table and index keys', set(lek) == {'pk', 'sk', 'price'}, r)

    def gsi_even():
        r = db.query(TableName=TABLE, IndexName='by_status', KeyConditionExpression='#s = :e',
                     ExpressionAttributeNames={'#s': 'status'}, ExpressionAttributeValues={':e': S('even')})
        return r if r['Count'] == 13 else None
    r = wait_for('the GSI', gsi_even)
    check('GSI query once the index caught up: the 13 even items in sk order',
          r is not None and [int(i['sk']['N']) for i in r['Items']] == list(range(0, 25, 2)), r)
    e = error_of(lambda: db.query(TableName=TABLE, IndexName='by_status', ConsistentRead=True,
                                  KeyConditionExpression='#s = :e', ExpressionAttributeNames={'#s': 'status'},
                                  ExpressionAttributeValues={':e': S('even')}))
    check('GSI query, ConsistentRead: ValidationException', code(e) == 'ValidationException', e and e.response)

    total = db.scan(TableName=TABLE)['Count']
    pag = db.get_paginator('scan')
    pages = list(pag.paginate(TableName=TABLE, PaginationConfig={'PageSize': 4}))
    keys = [(i['pk']['S'], int(i['sk']['N'])) for p in pages for i in p['Items']]
    check('boto3 scan paginator, PageSize 4: every item once', len(keys) == total == 26 and
          len(set(keys)) == total and len(pages) >= 7, (total, len(keys), len(pages)))
    segs = []
    for s in range(3):
        for p in pag.paginate(TableName=TABLE, Segment=s, TotalSegments=3, PaginationConfig={'PageSize': 5}):
            segs.append([(i['pk']['S'], int(i['sk']['N'])) for i in p['Items']])
    allk = [k for p in segs for k in p]
    check('parallel scan, 3 segments: together every item once', sorted(allk) == sorted(keys), (len(allk), total))
    e = error_of(lambda: db.scan(TableName=TABLE, Segment=3, TotalSegments=3))
    check('scan, Segment >= TotalSegments: ValidationException', code(e) == 'ValidationException', e and e.response)


def transactions(db):
    e = error_of(lambda: db.transact_write_items(TransactItems=[
        {'Put': {'TableName': TABLE, 'Item': item('c3', 1, 'tx')}},
        {'ConditionCheck': {'TableName': TABLE, 'Key': {'pk': S('c2'), 'sk': N(3)},
                            'ConditionExpression': 'price = :x', 'ExpressionAttributeValues': {':x': N(-5)},
                            'ReturnValuesOnConditionCheckFailure': 'ALL_OLD'}},
        {'Update': {'TableName': TABLE, 'Key': {'pk': S('c2'), 'sk': N(4)}, 'UpdateExpression': 'SET v = :v',
                    'ExpressionAttributeValues': {':v': N(1)}}}]))
    reasons = e.response.get('CancellationReasons') if e else None
    check('transact_write_items cancelled: TransactionCanceledException', code(e) == 'TransactionCanceledException',
          e and e.response)
    check('... message names the reasons', e is not None and
          e.response['Error']['Message'] ==
          'Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed, None]',
          e and e.response['Error'])
    want_item = db.get_item(TableName=TABLE, Key={'pk': S('c2'), 'sk': N(3)})['Item']
    check('... CancellationReasons: None, ConditionalCheckFailed with the Item, None',
          reasons == [{'Code': 'None'},
                      {'Code': 'ConditionalCheckFailed', 'Message': 'The conditional request failed', 'Item': want_item},
                      {'Code': 'None'}], reasons)
    r = db.get_item(TableName=TABLE, Key={'pk': S('c3'), 'sk': N(1)})
    check('... and nothing was written', 'Item' not in r, r)
    db.transact_write_items(TransactItems=[
        {'Put': {'TableName': TABLE, 'Item': item('c3', 1, 'tx')}},
        {'Update': {'TableName': TABLE, 'Key': {'pk': S('c3'), 'sk': N(2)}, 'UpdateExpression': 'SET v = :v',
                    'ExpressionAttributeValues': {':v': N(2)}}},
        {'Delete': {'TableName': TABLE, 'Key': {'pk': S('c2'), 'sk': N(0)}}}])
    r = db.transact_get_items(TransactItems=[
        {'Get': {'TableName': TABLE, 'Key': {'pk': S('c3'), 'sk': N(1)}, 'ProjectionExpression': 'pk, sk, #s',
                 'ExpressionAttributeNames': {'#s': 'status'}}},
        {'Get': {'TableName': TABLE, 'Key': {'pk': S('c3'), 'sk': N(2)}}},
        {'Get': {'TableName': TABLE, 'Key': {'pk': S('c2'), 'sk': N(0)}}}])
    check('transact_write_items, then transact_get_items: each Response in order',
          r.get('Responses') == [{'Item': {'pk': S('c3'), 'sk': N(1), 'status': S('tx')}},
                                 {'Item': {'pk': S('c3'), 'sk': N(2), 'v': N(2)}}, {}], r)


def ttl(db):
    r = db.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={'Enabled': True, 'AttributeName': 'expires'})
    check('update_time_to_live echoes the specification',
          r.get('TimeToLiveSpecification') == {'Enabled': True, 'AttributeName': 'expires'}, r)
    r = db.describe_time_to_live(TableName=TABLE)
    d = r.get('TimeToLiveDescription', {})
    check('describe_time_to_live: ENABLED on expires',
          d.get('TimeToLiveStatus') in ('ENABLED', 'ENABLING') and d.get('AttributeName') == 'expires', r)
    e = error_of(lambda: db.update_time_to_live(TableName=TABLE,
                                                TimeToLiveSpecification={'Enabled': True, 'AttributeName': 'other'}))
    check('update_time_to_live while enabled: ValidationException', code(e) == 'ValidationException', e and e.response)


def streams(final_c1):
    ds = client('dynamodbstreams')
    r = ds.list_streams(TableName=TABLE)
    s = r.get('Streams', [])
    check('list_streams: one stream of the table', len(s) == 1 and s[0]['TableName'] == TABLE and
          s[0]['StreamArn'].startswith('arn:aws:dynamodb:us-east-1:') and 'StreamLabel' in s[0], r)
    if not s:
        return
    arn = s[0]['StreamArn']
    d = ds.describe_stream(StreamArn=arn)['StreamDescription']
    check('describe_stream: ENABLED, NEW_AND_OLD_IMAGES, key schema, shards',
          d['StreamStatus'] == 'ENABLED' and d['StreamViewType'] == 'NEW_AND_OLD_IMAGES' and
          d['TableName'] == TABLE and [k['AttributeName'] for k in d['KeySchema']] == ['pk', 'sk'] and
          len(d['Shards']) >= 1 and all('SequenceNumberRange' in sh for sh in d['Shards']), d)

    def read_all():
        recs = []
        for sh in ds.describe_stream(StreamArn=arn)['StreamDescription']['Shards']:
            it = ds.get_shard_iterator(StreamArn=arn, ShardId=sh['ShardId'],
                                       ShardIteratorType='TRIM_HORIZON')['ShardIterator']
            for _ in range(50):
                r = ds.get_records(ShardIterator=it, Limit=100)
                recs += r['Records']
                it = r.get('NextShardIterator')
                if not it or not r['Records']:
                    break
        return recs
    # the update that made final_c1 is the last change of c1/1
    recs = wait_for('the stream records', lambda: (lambda rs: rs if any(
        x['dynamodb'].get('NewImage', {}).get('status') == final_c1['status'] for x in rs) else None)(read_all()))
    check('get_records: the records arrived', recs is not None)
    if not recs:
        return
    check('every record: eventSource aws:dynamodb, awsRegion us-east-1, eventVersion, view type',
          all(x['eventSource'] == 'aws:dynamodb' and x['awsRegion'] == 'us-east-1' and
              x['eventVersion'] == '1.1' and x['dynamodb']['StreamViewType'] == 'NEW_AND_OLD_IMAGES' and
              'SequenceNumber' in x['dynamodb'] and 'SizeBytes' in x['dynamodb'] for x in recs), recs[:2])
    c1 = [x for x in recs if x['dynamodb']['Keys'] == {'pk': S('c1'), 'sk': N(1)}]
    first = c1[0] if c1 else {}
    check('the first put of c1/1: INSERT, NewImage typed, no OldImage',
          first.get('eventName') == 'INSERT' and first['dynamodb']['NewImage'] == item('c1', 1, 'new') and
          'OldImage' not in first['dynamodb'], first)
    mod = c1[1] if len(c1) > 1 else {}
    check('its replacement: MODIFY with both images',
          mod.get('eventName') == 'MODIFY' and mod['dynamodb']['OldImage'] == item('c1', 1, 'new') and
          mod['dynamodb']['NewImage'] == dict(item('c1', 1, 'new'), price=N(7)), mod)
    rem = [x for x in recs if x['eventName'] == 'REMOVE' and x['dynamodb']['Keys'] == {'pk': S('c1'), 'sk': N(2)}]
    check('the delete of c1/2: REMOVE with the OldImage',
          len(rem) == 1 and rem[0]['dynamodb']['OldImage'] == {'pk': S('c1'), 'sk': N(2), 'v': S('made')} and
          'NewImage' not in rem[0]['dynamodb'], rem)
    seqs = [int(x['dynamodb']['SequenceNumber']) for x in c1]
    check('sequence numbers grow within a key', seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs)
    check('no record of the cancelled transaction',
          not any(x['dynamodb']['Keys'] == {'pk': S('c3'), 'sk': N(1)} and
                  x['dynamodb'].get('NewImage', {}).get('status') != S('tx') for x in recs))
    e = error_of(lambda: ds.get_shard_iterator(StreamArn=arn + 'x', ShardId='shardId-0000000001-0000000000',
                                               ShardIteratorType='TRIM_HORIZON'))
    check('get_shard_iterator of an unknown stream: ResourceNotFoundException',
          code(e) == 'ResourceNotFoundException', e and e.response)


def section(fn, *args):
    """FN(ARGS): an exception it raises is a failed check, not the end of the run"""
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001 (reported as a failure)
        check('%s ran to its end' % fn.__name__, False, e)
    return None


def cmd_boto3():
    db = client()
    section(create_table, db)
    c1 = section(items_crud, db)
    section(batch, db)
    section(query_scan, db)
    section(transactions, db)
    section(ttl, db)
    if c1:
        section(streams, c1)


def aws(*args, key=None, secret=None, data=None):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=key or KEY, AWS_SECRET_ACCESS_KEY=secret or SECRET,
               AWS_DEFAULT_REGION='us-east-1', HOME=TMP, AWS_PAGER='', AWS_MAX_ATTEMPTS='1')
    env.pop('AWS_DATA_PATH', None)
    argv = ['aws'] + list(args) + ['--endpoint-url', URL, '--output', 'json']
    p = subprocess.run(argv, env=env, capture_output=True, text=True)
    out = json.loads(p.stdout) if p.returncode == 0 and p.stdout.strip() else None
    return p.returncode, out, p.stderr


def j(v):
    return json.dumps(v)


def cmd_cli():
    t = 'cli_orders'
    rc, out, err = aws('dynamodb', 'create-table', '--table-name', t,
                       '--attribute-definitions', 'AttributeName=pk,AttributeType=S', 'AttributeName=sk,AttributeType=N',
                       '--key-schema', 'AttributeName=pk,KeyType=HASH', 'AttributeName=sk,KeyType=RANGE',
                       '--billing-mode', 'PAY_PER_REQUEST',
                       '--stream-specification', 'StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES')
    check('aws dynamodb create-table', rc == 0 and out['TableDescription']['TableName'] == t, err)
    rc, out, err = aws('dynamodb', 'wait', 'table-exists', '--table-name', t)
    check('aws dynamodb wait table-exists', rc == 0, err)
    it = {'pk': S('k'), 'sk': N(1), 'v': S('one'), 'n': N(5)}
    rc, out, err = aws('dynamodb', 'put-item', '--table-name', t, '--item', j(it), '--return-values', 'ALL_OLD')
    check('aws dynamodb put-item', rc == 0 and out is None or out == {}, (out, err))
    rc, out, err = aws('dynamodb', 'get-item', '--table-name', t, '--key', j({'pk': S('k'), 'sk': N(1)}),
                       '--consistent-read')
    check('aws dynamodb get-item', rc == 0 and out == {'Item': it}, (out, err))
    rc, out, err = aws('dynamodb', 'update-item', '--table-name', t, '--key', j({'pk': S('k'), 'sk': N(1)}),
                       '--update-expression', 'SET n = n + :d REMOVE v', '--condition-expression', 'v = :one',
                       '--expression-attribute-values', j({':d': N(2), ':one': S('one')}),
                       '--return-values', 'UPDATED_NEW')
    check('aws dynamodb update-item, UPDATED_NEW', rc == 0 and out == {'Attributes': {'n': N(7)}}, (out, err))
    rc, out, err = aws('dynamodb', 'delete-item', '--table-name', t, '--key', j({'pk': S('k'), 'sk': N(1)}),
                       '--condition-expression', 'attribute_exists(v)')
    check('aws dynamodb delete-item, failed condition: ConditionalCheckFailedException, nonzero exit',
          rc != 0 and 'ConditionalCheckFailedException' in err and 'The conditional request failed' in err, (rc, err))
    reqs = {t: [{'PutRequest': {'Item': {'pk': S('k'), 'sk': N(n), 'v': N(n * n)}}} for n in range(2, 22)]}
    rc, out, err = aws('dynamodb', 'batch-write-item', '--request-items', j(reqs))
    check('aws dynamodb batch-write-item: UnprocessedItems {}', rc == 0 and out == {'UnprocessedItems': {}}, (out, err))
    rc, out, err = aws('dynamodb', 'batch-get-item', '--request-items',
                       j({t: {'Keys': [{'pk': S('k'), 'sk': N(n)} for n in (2, 3, 50)]}}))
    check('aws dynamodb batch-get-item', rc == 0 and out['UnprocessedKeys'] == {} and
          sorted(int(i['sk']['N']) for i in out['Responses'][t]) == [2, 3], (out, err))
    # the CLI pages by itself (LastEvaluatedKey -> ExclusiveStartKey) and merges the pages
    rc, out, err = aws('dynamodb', 'query', '--table-name', t, '--key-condition-expression', 'pk = :p',
                       '--expression-attribute-values', j({':p': S('k')}), '--page-size', '3')
    check('aws dynamodb query --page-size 3: the CLI pages through all 21 items',
          rc == 0 and out['Count'] == 21 and [int(i['sk']['N']) for i in out['Items']] == list(range(1, 22)),
          (out and out.get('Count'), err))
    rc, out, err = aws('dynamodb', 'scan', '--table-name', t, '--page-size', '4', '--max-items', '10')
    check('aws dynamodb scan --max-items 10: 10 items and a NextToken',
          rc == 0 and len(out['Items']) == 10 and 'NextToken' in out, (out, err))
    if rc == 0 and out and 'NextToken' in out:
        rc, out2, err = aws('dynamodb', 'scan', '--table-name', t, '--page-size', '4', '--starting-token',
                            out['NextToken'])
        both = [int(i['sk']['N']) for i in out['Items'] + out2['Items']]
        check('... --starting-token: the other 11', rc == 0 and sorted(both) == list(range(1, 22)), (both, err))
    segs = []
    for s in range(2):
        rc, out, err = aws('dynamodb', 'scan', '--table-name', t, '--segment', str(s), '--total-segments', '2')
        segs += [int(i['sk']['N']) for i in (out or {}).get('Items', [])]
    check('aws dynamodb scan --segment: 2 segments cover the table', sorted(segs) == list(range(1, 22)), segs)
    rc, out, err = aws('dynamodb', 'transact-write-items', '--transact-items', j([
        {'Put': {'TableName': t, 'Item': {'pk': S('k'), 'sk': N(100)}}},
        {'Delete': {'TableName': t, 'Key': {'pk': S('k'), 'sk': N(2)}, 'ConditionExpression': 'v = :x',
                    'ExpressionAttributeValues': {':x': N(0)}}}]))
    check('aws dynamodb transact-write-items cancelled: the reasons in the message',
          rc != 0 and 'TransactionCanceledException' in err and '[None, ConditionalCheckFailed]' in err, (rc, err))
    rc, out, err = aws('dynamodb', 'update-time-to-live', '--table-name', t,
                       '--time-to-live-specification', 'Enabled=true,AttributeName=exp')
    check('aws dynamodb update-time-to-live', rc == 0 and out == {'TimeToLiveSpecification':
                                                                   {'Enabled': True, 'AttributeName': 'exp'}}, (out, err))
    rc, out, err = aws('dynamodb', 'describe-time-to-live', '--table-name', t)
    check('aws dynamodb describe-time-to-live', rc == 0 and
          out['TimeToLiveDescription']['AttributeName'] == 'exp', (out, err))
    rc, out, err = aws('dynamodbstreams', 'list-streams', '--table-name', t)
    arn = out['Streams'][0]['StreamArn'] if rc == 0 and out and out.get('Streams') else None
    check('aws dynamodbstreams list-streams', arn is not None, (out, err))
    if arn:
        rc, out, err = aws('dynamodbstreams', 'describe-stream', '--stream-arn', arn)
        shard = out['StreamDescription']['Shards'][0]['ShardId'] if rc == 0 and out['StreamDescription']['Shards'] else None
        check('aws dynamodbstreams describe-stream', shard is not None, (out, err))

        def records():
            rc, out, err = aws('dynamodbstreams', 'get-shard-iterator', '--stream-arn', arn, '--shard-id', shard,
                               '--shard-iterator-type', 'TRIM_HORIZON')
            if rc != 0:
                return None
            rc, out, err = aws('dynamodbstreams', 'get-records', '--shard-iterator', out['ShardIterator'])
            return out['Records'] if rc == 0 and len(out['Records']) >= 22 else None
        recs = wait_for('the CLI stream records', records) if shard else None
        check('aws dynamodbstreams get-records: INSERT, MODIFY of k/1 with images',
              recs is not None and recs[0]['eventName'] == 'INSERT' and recs[0]['dynamodb']['NewImage'] == it and
              recs[1]['eventName'] == 'MODIFY' and recs[1]['dynamodb']['OldImage'] == it and
              recs[1]['dynamodb']['NewImage'] == {'pk': S('k'), 'sk': N(1), 'n': N(7)}, recs and recs[:2])
    rc, out, err = aws('dynamodb', 'list-tables', secret='w' * 40)
    check('aws with a wrong secret: InvalidSignatureException', rc != 0 and 'InvalidSignatureException' in err, err)
    rc, out, err = aws('dynamodb', 'delete-table', '--table-name', t)
    check('aws dynamodb delete-table', rc == 0 and out['TableDescription']['TableName'] == t, (out, err))


def cmd_roles():
    """keys of roles: PARTKV_RO_* (SELECT only on orders), PARTKV_NONE_* (no privilege on it)"""
    ro = client(key=os.environ['PARTKV_RO_KEY'], secret=os.environ['PARTKV_RO_SECRET'])
    none = client(key=os.environ['PARTKV_NONE_KEY'], secret=os.environ['PARTKV_NONE_SECRET'])
    key = {'pk': S('c2'), 'sk': N(3)}
    r = ro.get_item(TableName=TABLE, Key=key)
    check('a key whose role has SELECT: get_item works', r.get('Item', {}).get('sk') == N(3), r)
    r = ro.query(TableName=TABLE, KeyConditionExpression='pk = :p', ExpressionAttributeValues={':p': S('c2')})
    check('... and query', r.get('Count') == 24, r.get('Count'))
    for name, call in (('put_item', lambda: ro.put_item(TableName=TABLE, Item=item('c9', 1))),
                       ('update_item', lambda: ro.update_item(TableName=TABLE, Key=key, UpdateExpression='SET v = :v',
                                                              ExpressionAttributeValues={':v': N(1)})),
                       ('delete_item', lambda: ro.delete_item(TableName=TABLE, Key=key)),
                       ('batch_write_item', lambda: ro.batch_write_item(
                           RequestItems={TABLE: [{'PutRequest': {'Item': item('c9', 2)}}]}))):
        e = error_of(call)
        check('... lacking INSERT: %s is AccessDeniedException (400)' % name,
              code(e) == 'AccessDeniedException' and e.response['ResponseMetadata']['HTTPStatusCode'] == 400,
              e and e.response)
    r = client().get_item(TableName=TABLE, Key={'pk': S('c9'), 'sk': N(1)})
    check('... and nothing was written', 'Item' not in r, r)
    for name, call in (('get_item', lambda: none.get_item(TableName=TABLE, Key=key)),
                       ('query', lambda: none.query(TableName=TABLE, KeyConditionExpression='pk = :p',
                                                    ExpressionAttributeValues={':p': S('c2')})),
                       ('scan', lambda: none.scan(TableName=TABLE)),
                       ('batch_get_item', lambda: none.batch_get_item(RequestItems={TABLE: {'Keys': [key]}}))):
        e = error_of(call)
        check('a key whose role lacks SELECT: %s is AccessDeniedException' % name,
              code(e) == 'AccessDeniedException', e and e.response)
    e = error_of(lambda: client(key=KEY, secret='q' * 40).get_item(TableName=TABLE, Key=key))
    check('the table owner\'s key, wrong secret: InvalidSignatureException', code(e) == 'InvalidSignatureException',
          e and e.response)
    e = error_of(lambda: client(key='AKIAZZZZZZZZZZZZZZZZ').get_item(TableName=TABLE, Key=key))
    check('an unknown key: UnrecognizedClientException', code(e) == 'UnrecognizedClientException', e and e.response)


globals()['cmd_' + sys.argv[1]]()
sys.exit(1 if failures else 0)
