#!/usr/bin/python3
"""load_dynalite.py URL PARTITION_KEYS SORT_KEYS -- create table "bench" in the
DynamoDB at URL and write setup.sql's items into it (BatchWriteItem by 25)."""
import hashlib
import json
import sys
import time
import urllib.request

url, pks, sks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def call(op, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method='POST', headers={
        'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'DynamoDB_20120810.' + op,
        'X-Amz-Date': '20260101T000000Z',
        'Authorization': 'AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/dynamodb/aws4_request, '
                         'SignedHeaders=host;x-amz-date, Signature=00'})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


call('CreateTable', {'TableName': 'bench', 'BillingMode': 'PAY_PER_REQUEST',
                     'AttributeDefinitions': [{'AttributeName': 'pk', 'AttributeType': 'S'},
                                              {'AttributeName': 'sk', 'AttributeType': 'S'}],
                     'KeySchema': [{'AttributeName': 'pk', 'KeyType': 'HASH'},
                                   {'AttributeName': 'sk', 'KeyType': 'RANGE'}]})
while call('DescribeTable', {'TableName': 'bench'})['Table']['TableStatus'] != 'ACTIVE':
    time.sleep(0.2)
batch = []
for i in range(1, pks + 1):
    for j in range(1, sks + 1):
        batch.append({'PutRequest': {'Item': {
            'pk': {'S': 'c%d' % i}, 'sk': {'S': 's%d' % j}, 'v': {'N': str(i * 10 + j)},
            'payload': {'S': hashlib.md5(('%d/%d' % (i, j)).encode()).hexdigest()},
            'tags': {'L': [{'S': 'a'}, {'S': 'b'}, {'S': 'c'}]}}}})
        if len(batch) == 25 or (i == pks and j == sks):
            pending = {'bench': batch}
            while pending:
                pending = call('BatchWriteItem', {'RequestItems': pending}).get('UnprocessedItems')
            batch = []
