/*-------------------------------------------------------------------------
 *
 * expr_test.c
 *	  Table-driven unit test of the expression front end (src/expr/),
 *	  built without the server and run under AddressSanitizer by
 *	  `make fuzz-check`.
 *
 * Each case is one request: expressions tagged U (Update), C (Condition),
 * F (Filter), P (Projection), K (KeyCondition) separated by '|', the
 * ExpressionAttributeNames as "#k=name,...", the ExpressionAttributeValues
 * as ":k=TYPE[:string],..." (TYPE "?" = unknown to the validator), and the
 * expected outcome:
 *	"= <dump>"	success; <dump> is KvExprDump of the first expression
 *	"K <conds>" success; the decomposed KeyConditionExpression
 *	"! <msg>"	failure with exactly this message
 *
 * Exits non-zero on any failure and ends with "N passed, N failed".
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr/expr.h"

typedef struct TestCase
{
	const char *exprs;
	const char *names;
	const char *values;
	const char *expect;
} TestCase;

#define NONE NULL

static const TestCase cases[] = {
	/* ---- condition grammar and precedence ---- */
	{"C:a = :v", NONE, ":v=?", "= (= [a] :v)"},
	{"C:a <> :v", NONE, ":v=?", "= (<> [a] :v)"},
	{"C:a < :v", NONE, ":v=?", "= (< [a] :v)"},
	{"C:a <= :v", NONE, ":v=?", "= (<= [a] :v)"},
	{"C:a > :v", NONE, ":v=?", "= (> [a] :v)"},
	{"C:a >= :v", NONE, ":v=?", "= (>= [a] :v)"},
	{"C::v = a", NONE, ":v=?", "= (= :v [a])"},
	{"C:a BETWEEN :lo AND :hi", NONE, ":lo=?,:hi=?", "= (BETWEEN [a] :lo :hi)"},
	{"C:a between :lo and :hi", NONE, ":lo=?,:hi=?", "= (BETWEEN [a] :lo :hi)"},
	{"C:a IN (:x, :y, :z)", NONE, ":x=?,:y=?,:z=?", "= (IN [a] :x :y :z)"},
	{"C:a in (:x)", NONE, ":x=?", "= (IN [a] :x)"},
	{"C:a = :v OR b = :v AND c = :v", NONE, ":v=?", "= (OR (= [a] :v) (AND (= [b] :v) (= [c] :v)))"},
	{"C:a = :v AND b = :v OR c = :v", NONE, ":v=?", "= (OR (AND (= [a] :v) (= [b] :v)) (= [c] :v))"},
	{"C:NOT a = :v AND b = :v", NONE, ":v=?", "= (AND (NOT (= [a] :v)) (= [b] :v))"},
	{"C:NOT a = :v OR NOT b = :v", NONE, ":v=?", "= (OR (NOT (= [a] :v)) (NOT (= [b] :v)))"},
	{"C:NOT NOT a = :v", NONE, ":v=?", "= (NOT (NOT (= [a] :v)))"},
	{"C:NOT (a = :v AND b = :v)", NONE, ":v=?", "= (NOT (AND (= [a] :v) (= [b] :v)))"},
	{"C:(a = :v OR b = :v) AND c = :v", NONE, ":v=?", "= (AND (OR (= [a] :v) (= [b] :v)) (= [c] :v))"},
	{"C:a = :v AND b = :v AND c = :v AND d = :v", NONE, ":v=?", "= (AND (= [a] :v) (= [b] :v) (= [c] :v) (= [d] :v))"},
	{"C:((a < :b) AND c < :d)", NONE, ":b=?,:d=?", "= (AND (< [a] :b) (< [c] :d))"},
	{"C:(a) = :v", NONE, ":v=?", "= (= [a] :v)"},
	{"C:a = (:v)", NONE, ":v=?", "= (= [a] :v)"},
	{"C:(size(a)) > :v", NONE, ":v=?", "= (> (size [a]) :v)"},
	{"C:(attribute_exists(a))", NONE, NONE, "= (attribute_exists [a])"},
	{"C:attribute_exists(a) AND (attribute_not_exists(b))", NONE, NONE, "= (AND (attribute_exists [a]) (attribute_not_exists [b]))"},
	{"C:\t a\r\n=\n:v ", NONE, ":v=?", "= (= [a] :v)"},
	{"C:a=:v", NONE, ":v=?", "= (= [a] :v)"},
	{"C:a.b[1].c[22] = :v", NONE, ":v=?", "= (= [a, b, [1], c, [22]] :v)"},
	{"C:a . b [ 1 ] = :v", NONE, ":v=?", "= (= [a, b, [1]] :v)"},
	{"C:a[007] = :v", NONE, ":v=?", "= (= [a, [7]] :v)"},
	{"C:#sw = :v", "#sw=Safety.Warning", ":v=?", "= (= [Safety.Warning] :v)"},
	{"C:#1star.#_ = :v", "#1star=one,#_=two", ":v=?", "= (= [one, two] :v)"},
	{"C:A123_ = :_", NONE, ":_=?", "= (= [A123_] :_)"},
	{"C:id = :v", NONE, ":v=?", "= (= [id] :v)"},
	{"C:email = :v", NONE, ":v=?", "= (= [email] :v)"},
	/* functions */
	{"C:attribute_exists(a)", NONE, NONE, "= (attribute_exists [a])"},
	{"C:attribute_not_exists(a.b)", NONE, NONE, "= (attribute_not_exists [a, b])"},
	{"C:attribute_type(a, :t)", NONE, ":t=S:SS", "= (attribute_type [a] :t)"},
	{"C:begins_with(a, :p)", NONE, ":p=S:x", "= (begins_with [a] :p)"},
	{"C:contains(a, :v)", NONE, ":v=?", "= (contains [a] :v)"},
	{"C:contains(:v, a)", NONE, ":v=?", "= (contains :v [a])"},
	{"C:size(a) < :n", NONE, ":n=N", "= (< (size [a]) :n)"},
	{"C:size(:s) = :n", NONE, ":s=S:abc,:n=N", "= (= (size :s) :n)"},
	{"C:size(a) BETWEEN :x AND size(b)", NONE, ":x=?", "= (BETWEEN (size [a]) :x (size [b]))"},
	{"C:a IN (size(b), :x)", NONE, ":x=?", "= (IN [a] (size [b]) :x)"},
	{"C:size(size(a)) = :v", NONE, ":v=?", "! Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: size, operand type: N"},
	{"C:begins_with(size(a), :v)", NONE, ":v=?", "! Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"},

	/* ---- syntax errors: token and near ---- */
	{"C:foo", NONE, NONE, "! Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"foo\""},
	{"U:SET _123 = :v", NONE, ":v=?", "! Invalid UpdateExpression: Syntax error; token: \"_\", near: \"SET _123\""},
	{"U:SET path = VALUE 1", NONE, NONE, "! Invalid UpdateExpression: Syntax error; token: \"1\", near: \"VALUE 1\""},
	{"U:SET numx = numx / :v", NONE, ":v=?", "! Invalid UpdateExpression: Syntax error; token: \"/\", near: \"numx / :v\""},
	{"U:SET a = a +", NONE, NONE, "! Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"+\""},
	{"U:SET a = ", NONE, NONE, "! Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"= \""},
	{"U:SET", NONE, NONE, "! Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"SET\""},
	{"P:a b", NONE, NONE, "! Invalid ProjectionExpression: Syntax error; token: \"b\", near: \"a b\""},
	{"P:a,", NONE, NONE, "! Invalid ProjectionExpression: Syntax error; token: \"<EOF>\", near: \",\""},
	{"P:!!!", NONE, NONE, "! Invalid ProjectionExpression: Syntax error; token: \"!\", near: \"!!\""},
	{"K:[object Object] = :v", NONE, ":v=?", "! Invalid KeyConditionExpression: Syntax error; token: \"[\", near: \"[object\""},
	{"K:pk = :type AND", NONE, ":type=?", "! Invalid KeyConditionExpression: Syntax error; token: \"<EOF>\", near: \"AND\""},
	{"C:   ", NONE, NONE, "! Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"   \""},
	{"C:a != :v", NONE, ":v=?", "! Invalid ConditionExpression: Syntax error; token: \"!\", near: \"a !=\""},
	{"C:a = :v b", NONE, ":v=?", "! Invalid ConditionExpression: Syntax error; token: \"b\", near: \":v b\""},
	{"C:_x = :v", NONE, ":v=?", "! Invalid ConditionExpression: Syntax error; token: \"_\", near: \"_x\""},
	{"C:1x = :v", NONE, ":v=?", "! Invalid ConditionExpression: Syntax error; token: \"1\", near: \"1x\""},
	{"C:a[:i] = :v", NONE, ":i=?,:v=?", "! Invalid ConditionExpression: Syntax error; token: \":i\", near: \"[:i]\""},
	{"C:a[#i] = :v", "#i=x", ":v=?", "! Invalid ConditionExpression: Syntax error; token: \"#i\", near: \"[#i]\""},
	{"C:a[-1] = :v", NONE, ":v=?", "! Invalid ConditionExpression: Syntax error; token: \"-\", near: \"[-1\""},
	{"C:a.1 = :v", NONE, ":v=?", "! Invalid ConditionExpression: Syntax error; token: \"1\", near: \".1 =\""},
	{"C:a", NONE, NONE, "! Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"a\""},
	{"C::v", NONE, ":v=?", "! Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \":v\""},
	{"C:a IN ()", NONE, NONE, "! Invalid ConditionExpression: Syntax error; token: \")\", near: \"()\""},
	{"C:a IN :v", NONE, ":v=?", "! Invalid ConditionExpression: Syntax error; token: \":v\", near: \"IN :v\""},
	{"C:a BETWEEN :x", NONE, ":x=?", "! Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \":x\""},
	{"C:a BETWEEN :x OR :y", NONE, ":x=?,:y=?", "! Invalid ConditionExpression: Syntax error; token: \"OR\", near: \":x OR :y\""},
	{"C:(a = :v", NONE, ":v=?", "! Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \":v\""},
	{"C:a = :v)", NONE, ":v=?", "! Invalid ConditionExpression: Syntax error; token: \")\", near: \":v)\""},
	{"C:NOT (a)", NONE, NONE, "! Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \")\""},
	{"C:(a) AND b = :v", NONE, ":v=?", "! Invalid ConditionExpression: Syntax error; token: \"AND\", near: \") AND b\""},
	{"C:(a AND b)", NONE, NONE, "! Invalid ConditionExpression: Syntax error; token: \"AND\", near: \"a AND b\""},
	{"C:a = :v AND", NONE, ":v=?", "! Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"AND\""},
	{"C:AND a = :v", NONE, ":v=?", "! Invalid ConditionExpression: Syntax error; token: \"AND\", near: \"AND a\""},
	{"C:size(a + b) = :v", NONE, ":v=?", "! Invalid ConditionExpression: Syntax error; token: \"+\", near: \"a + b\""},
	{"C:set = :v", NONE, ":v=?", "! Invalid ConditionExpression: Syntax error; token: \"set\", near: \"set =\""},
	{"C:a = :v \xC3\xA9", NONE, ":v=?", "! Invalid ConditionExpression: Syntax error; token: \"\xC3\xA9\", near: \":v \xC3\xA9\""},
	{"C:f()", NONE, NONE, "! Invalid ConditionExpression: Syntax error; token: \")\", near: \"()\""},
	{"C:a = :v,", NONE, ":v=?", "! Invalid ConditionExpression: Syntax error; token: \",\", near: \":v,\""},
	{"U:a = :v", NONE, ":v=?", "! Invalid UpdateExpression: Syntax error; token: \"a\", near: \"a =\""},
	{"U:SET a = :v,", NONE, ":v=?", "! Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \",\""},
	{"U:SET a = :v, SET b = :v", NONE, ":v=?", "! Invalid UpdateExpression: Syntax error; token: \"SET\", near: \", SET b\""},
	{"U:SET a = :v + :w + :x", NONE, ":v=?,:w=?,:x=?", "! Invalid UpdateExpression: Syntax error; token: \"+\", near: \":w + :x\""},
	{"U:SET :v = a", NONE, ":v=?", "! Invalid UpdateExpression: Syntax error; token: \":v\", near: \"SET :v =\""},
	{"U:SET a = list_append(:a + :b, :c)", NONE, ":a=?,:b=?,:c=?", "! Invalid UpdateExpression: Syntax error; token: \"+\", near: \":a + :b\""},
	{"U:ADD a b", NONE, NONE, "! Invalid UpdateExpression: Syntax error; token: \"b\", near: \"a b\""},
	{"U:DELETE a", NONE, NONE, "! Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"a\""},
	{"U:REMOVE a = :v", NONE, ":v=?", "! Invalid UpdateExpression: Syntax error; token: \"=\", near: \"a = :v\""},
	{"U:SET a = b c", NONE, NONE, "! Invalid UpdateExpression: Syntax error; token: \"c\", near: \"b c\""},
	{"U:SET and = :v", NONE, ":v=?", "! Invalid UpdateExpression: Syntax error; token: \"and\", near: \"SET and =\""},
	{"P:a, (b)", NONE, NONE, "! Invalid ProjectionExpression: Syntax error; token: \"(\", near: \", (b\""},
	{"P:size(a)", NONE, NONE, "! Invalid ProjectionExpression: Syntax error; token: \"(\", near: \"size(a\""},

	/* ---- redundant parentheses ---- */
	{"C:((a = :v))", NONE, ":v=?", "! Invalid ConditionExpression: The expression has redundant parentheses;"},
	{"C:((a)) = :v", NONE, ":v=?", "! Invalid ConditionExpression: The expression has redundant parentheses;"},
	{"C:a = ((:v))", NONE, ":v=?", "! Invalid ConditionExpression: The expression has redundant parentheses;"},
	{"C:((attribute_exists(a)))", NONE, NONE, "! Invalid ConditionExpression: The expression has redundant parentheses;"},
	{"C:((a)) x", NONE, NONE, "! Invalid ConditionExpression: Syntax error; token: \"x\", near: \") x\""},
	{"C:((size(a))) < :v", NONE, ":v=?", "! Invalid ConditionExpression: The expression has redundant parentheses;"},
	{"C:NOT ((a = :v))", NONE, ":v=?", "! Invalid ConditionExpression: The expression has redundant parentheses;"},
	{"U:SET a = ((:v))", NONE, ":v=?", "! Invalid UpdateExpression: The expression has redundant parentheses;"},
	{"U:SET a = ((b + :v))", NONE, ":v=?", "! Invalid UpdateExpression: The expression has redundant parentheses;"},
	{"U:SET a = ((b)) + :v", NONE, ":v=?", "! Invalid UpdateExpression: The expression has redundant parentheses;"},
	{"U:SET a = (b + :v)", NONE, ":v=?", "= SET [a] = (+ [b] :v)"},
	{"U:SET a = (b) + (:v)", NONE, ":v=?", "= SET [a] = (+ [b] :v)"},
	{"U:SET a = ((b) + :v)", NONE, ":v=?", "= SET [a] = (+ [b] :v)"},
	{"U:SET a = (:v)", NONE, ":v=?", "= SET [a] = :v"},

	/* ---- empty / size ---- */
	{"C:", NONE, NONE, "! Invalid ConditionExpression: The expression can not be empty;"},
	{"P:", NONE, NONE, "! Invalid ProjectionExpression: The expression can not be empty;"},

	/* ---- reserved words ---- */
	{"C:name = :v", NONE, ":v=?", "! Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: name"},
	{"C:a.Status = :v", NONE, ":v=?", "! Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: Status"},
	{"U:SET #n = :v, data = :v", "#n=x", ":v=?", "! Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: data"},
	{"P:a, comment", NONE, NONE, "! Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: comment"},
	{"C:#name = :v", "#name=name", ":v=?", "= (= [name] :v)"},
	{"C:size(ttl) > :v", NONE, ":v=?", "! Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: ttl"},
	{"C:zzz = :v AND year = :w", NONE, ":v=?", "! Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: year"},
	{"U:REMOVE remove_me", NONE, NONE, "= REMOVE [remove_me]"},

	/* ---- list index range ---- */
	{"C:a[99999999999999] = :v", NONE, ":v=?", "! Invalid ConditionExpression: List index is not within the allowable range; index: [99999999999999]"},
	{"C:a[2147483648] = :v", NONE, ":v=?", "! Invalid ConditionExpression: List index is not within the allowable range; index: [2147483648]"},
	{"C:a[2147483647] = :v", NONE, ":v=?", "= (= [a, [2147483647]] :v)"},
	{"P:a[ 99999999999 ]", NONE, NONE, "! Invalid ProjectionExpression: List index is not within the allowable range; index: [99999999999]"},

	/* ---- functions: names, placement, arity, paths ---- */
	{"C:ATTRIBUTE_EXISTS(a)", NONE, NONE, "! Invalid ConditionExpression: Invalid function name; function: ATTRIBUTE_EXISTS"},
	{"C:foo(a) = :v", NONE, ":v=?", "! Invalid ConditionExpression: Invalid function name; function: foo"},
	{"C:size(a)", NONE, NONE, "! Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: size"},
	{"C:attribute_exists(a) = :v", NONE, ":v=?", "! Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: attribute_exists"},
	{"C:if_not_exists(a, :v) = :v", NONE, ":v=?", "! Invalid ConditionExpression: The function is not allowed in a condition expression; function: if_not_exists"},
	{"C:list_append(a, :v)", NONE, ":v=?", "! Invalid ConditionExpression: The function is not allowed in a condition expression; function: list_append"},
	{"U:SET a = size(b)", NONE, NONE, "! Invalid UpdateExpression: The function is not allowed in an update expression; function: size"},
	{"U:SET a = list_append(list_append(a, :v), :v)", NONE, ":v=?", "! Invalid UpdateExpression: The function is not allowed to be used this way in an expression; function: list_append"},
	{"U:SET a = list_append(b, :v) + :n", NONE, ":v=?,:n=?", "! Invalid UpdateExpression: The function is not allowed to be used this way in an expression; function: list_append"},
	{"U:SET a = bogus(b)", NONE, NONE, "! Invalid UpdateExpression: Invalid function name; function: bogus"},
	{"C:size(a, b) = :v", NONE, ":v=?", "! Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: size, number of operands: 2"},
	{"C:attribute_exists(a, b)", NONE, NONE, "! Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2"},
	{"C:begins_with(a)", NONE, NONE, "! Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: begins_with, number of operands: 1"},
	{"U:SET a = if_not_exists(b)", NONE, NONE, "! Invalid UpdateExpression: Incorrect number of operands for operator or function; operator or function: if_not_exists, number of operands: 1"},
	{"C:attribute_exists(:v)", NONE, ":v=?", "! Invalid ConditionExpression: Operator or function requires a document path; operator or function: attribute_exists"},
	{"C:attribute_not_exists(:v)", NONE, ":v=?", "! Invalid ConditionExpression: Operator or function requires a document path; operator or function: attribute_not_exists"},
	{"U:SET a = if_not_exists(:v, b)", NONE, ":v=?", "! Invalid UpdateExpression: Operator or function requires a document path; operator or function: if_not_exists"},
	{"C:attribute_type(a, b)", NONE, NONE, "! Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {NS,SS,L,BS,N,M,B,BOOL,NULL,S}"},
	{"C:attribute_type(a, :t)", NONE, ":t=N", "! Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N"},
	{"C:attribute_type(a, :t)", NONE, ":t=S:X", "! Invalid ConditionExpression: Invalid attribute type name found; type: X, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}"},
	{"C:attribute_type(a, :t)", NONE, ":t=S:BOOL", "= (attribute_type [a] :t)"},
	{"C:begins_with(a, :p)", NONE, ":p=N", "! Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"},
	{"C:size(:n) > :m", NONE, ":n=N,:m=N", "! Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: size, operand type: N"},
	{"C:a < :l", NONE, ":l=L", "! Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: <, operand type: L"},
	{"C:a BETWEEN :m AND :n", NONE, ":m=M,:n=N", "! Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: BETWEEN, operand type: M"},
	{"C:a = :l", NONE, ":l=L", "= (= [a] :l)"},
	{"U:SET a = b + :s", NONE, ":s=S:x", "! Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, operand type: S"},
	{"U:SET a = :n - :s", NONE, ":n=N,:s=SS", "! Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: -, operand type: SS"},
	{"U:SET a = list_append(b, :s)", NONE, ":s=S:x", "! Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: S"},
	{"U:SET a = list_append(if_not_exists(a, :e), :v)", NONE, ":e=L,:v=L", "= SET [a] = (list_append (if_not_exists [a] :e) :v)"},
	{"U:SET a = if_not_exists(a, :z) + :one", NONE, ":z=N,:one=N", "= SET [a] = (+ (if_not_exists [a] :z) :one)"},
	{"U:ADD a :s", NONE, ":s=S:x", "! Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING"},
	{"U:ADD a :l", NONE, ":l=L", "! Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: LIST"},
	{"U:DELETE a :n", NONE, ":n=N", "! Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER"},
	{"U:ADD a :n, b :ss", NONE, ":n=N,:ss=SS", "= ADD [a] :n; ADD [b] :ss"},
	{"U:DELETE a :ns", NONE, ":ns=NS", "= DELETE [a] :ns"},

	/* ---- distinct operands ---- */
	{"C:a = a", NONE, NONE, "! Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: =, first operand: [a]"},
	{"C:contains(a, a)", NONE, NONE, "! Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: contains, first operand: [a]"},
	{"C:contains(#a, #a)", "#a=data", NONE, "! Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: contains, first operand: [data]"},
	{"C:#a.b < a.#b", "#a=a,#b=b", NONE, "! Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: <, first operand: [a, b]"},
	{"C:a IN (b, a)", NONE, NONE, "! Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: IN, first operand: [a]"},
	{"C:a BETWEEN :x AND a", NONE, ":x=?", "! Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: BETWEEN, first operand: [a]"},
	{"C:a[1] = a[2]", NONE, NONE, "= (= [a, [1]] [a, [2]])"},
	{"C:a = b", NONE, NONE, "= (= [a] [b])"},

	/* ---- names and values: defined / unused ---- */
	{"C:#n = :v", NONE, ":v=?", "! Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #n"},
	{"C:a = :v", NONE, NONE, "! Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :v"},
	{"P:a.#u", NONE, NONE, "! Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; attribute name: #u"},
	{"C:a = :v", "#b=x", ":v=?", "! Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}"},
	{"C:a = :v", "#b=x,#c=y", ":v=?,:w=?,:x=?", "! Value provided in ExpressionAttributeNames unused in expressions: keys: {#b, #c}"},
	{"C:a = :v", NONE, ":v=?,:v1=?", "! Value provided in ExpressionAttributeValues unused in expressions: keys: {:v1}"},
	{"K:pk = :p|F:#f = :x|P:#g", "#f=f,#g=g", ":p=?,:x=?", "K pk EQ :p"},
	{"K:pk = :p|P:a, #g", "#f=f,#g=g", ":p=?", "! Value provided in ExpressionAttributeNames unused in expressions: keys: {#f}"},
	{"U:SET a = :v|C:attribute_exists(#k) AND :w <> b", "#k=k", ":v=?,:w=?", "= SET [a] = :v"},
	{"C:a = :v OR b = :w", NONE, ":v=?", "! Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :w"},
	{"C:#a.#b = :v", "#a=x", ":v=?", "! Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #b"},
	{"C:a.:v = :v", NONE, ":v=?", "! Invalid ConditionExpression: The document path cannot contain attribute value parameters; attribute value: :v"},
	{"C:a = :v", "", NONE, "! ExpressionAttributeNames must not be empty"},
	{"C:a = :v", NONE, "", "! ExpressionAttributeValues must not be empty"},
	{"C:a = :v", "n=x", ":v=?", "! ExpressionAttributeNames contains invalid key: Syntax error; key: \"n\""},
	{"C:a = :v", "#=x", ":v=?", "! ExpressionAttributeNames contains invalid key: Syntax error; key: \"#\""},
	{"C:a = :v", "#a-b=x", ":v=?", "! ExpressionAttributeNames contains invalid key: Syntax error; key: \"#a-b\""},
	{"C:a = :v", NONE, ":v=?,b=?", "! ExpressionAttributeValues contains invalid key: Syntax error; key: \"b\""},
	/* names resolved in messages; reserved words fine as real names */
	{"U:SET #a = :v, #a.#b = :v", "#a=a,#b=b", ":v=?", "! Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]"},

	/* ---- update expression grammar ---- */
	{"U:SET a = :v", NONE, ":v=?", "= SET [a] = :v"},
	{"U:set a = :v, b = c, d.e[1] = :w", NONE, ":v=?,:w=?", "= SET [a] = :v; SET [b] = [c]; SET [d, e, [1]] = :w"},
	{"U:SET a = a + :one", NONE, ":one=N", "= SET [a] = (+ [a] :one)"},
	{"U:SET a = :x - b", NONE, ":x=?", "= SET [a] = (- :x [b])"},
	{"U:REMOVE a, b.c, d[3]", NONE, NONE, "= REMOVE [a]; REMOVE [b, c]; REMOVE [d, [3]]"},
	{"U:ADD n :one DELETE s :s", NONE, ":one=?,:s=?", "= ADD [n] :one; DELETE [s] :s"},
	{"U:REMOVE x SET a = :v ADD n :one DELETE s :s", NONE, ":v=?,:one=?,:s=?", "= REMOVE [x]; SET [a] = :v; ADD [n] :one; DELETE [s] :s"},
	{"U:SET a = :v SET b = :v", NONE, ":v=?", "! Invalid UpdateExpression: The \"SET\" section can only be used once in an update expression;"},
	{"U:REMOVE a REMOVE b", NONE, NONE, "! Invalid UpdateExpression: The \"REMOVE\" section can only be used once in an update expression;"},
	{"U:ADD a :v SET b = :v ADD c :v", NONE, ":v=?", "! Invalid UpdateExpression: The \"ADD\" section can only be used once in an update expression;"},
	{"U:DELETE a :v DELETE b :v", NONE, ":v=?", "! Invalid UpdateExpression: The \"DELETE\" section can only be used once in an update expression;"},
	{"U:SET a = :v SET name = :v", NONE, ":v=?", "! Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: name"},
	{"U:SET a = :v SET b = :v, c = foo(:v)", NONE, ":v=?", "! Invalid UpdateExpression: Invalid function name; function: foo"},

	/* ---- overlapping / conflicting paths ---- */
	{"U:SET a = :v, a.b = :v", NONE, ":v=?", "! Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]"},
	{"U:SET a = :v REMOVE a", NONE, ":v=?", "! Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"},
	{"U:SET a[1] = :v REMOVE a[1].b", NONE, ":v=?", "! Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a, [1]], path two: [a, [1], b]"},
	{"U:SET a.b = :v, a[1] = :v", NONE, ":v=?", "! Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, [1]]"},
	{"U:SET a.b = :v, a.c = :v, x[1] = :v, x[2] = :v", NONE, ":v=?", "= SET [a, b] = :v; SET [a, c] = :v; SET [x, [1]] = :v; SET [x, [2]] = :v"},
	{"U:SET a = b, b = a", NONE, NONE, "= SET [a] = [b]; SET [b] = [a]"},
	{"P:a, a.b", NONE, NONE, "! Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]"},
	{"P:a.b, a", NONE, NONE, "! Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a]"},
	{"P:a, a", NONE, NONE, "! Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"},
	{"P:alist[0], alist", NONE, NONE, "! Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [alist, [0]], path two: [alist]"},
	{"P:#p, #p.#q", "#p=a,#q=b", NONE, "! Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]"},
	{"P:x, a.b, a", NONE, NONE, "! Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a]"},
	{"P:a, a.b", "#z=zzz", NONE, "! Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]"},
	{"P:a.b, a[1]", NONE, NONE, "! Invalid ProjectionExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, [1]]"},
	{"P:a.b, a.c, x[0], x[1].y", NONE, NONE, "= [a, b], [a, c], [x, [0]], [x, [1], y]"},
	{"P:#sw, a", "#sw=Safety.Warning", NONE, "= [Safety.Warning], [a]"},

	/* ---- KeyConditionExpression ---- */
	{"K:pk = :p", NONE, ":p=?", "K pk EQ :p"},
	{"K:pk = :p AND sk < :s", NONE, ":p=?,:s=?", "K pk EQ :p; sk LT :s"},
	{"K::s > sk AND pk = :p", NONE, ":p=?,:s=?", "K sk LT :s; pk EQ :p"},
	{"K::s <= sk AND :p = pk", NONE, ":p=?,:s=?", "K sk GE :s; pk EQ :p"},
	{"K:pk = :p AND sk BETWEEN :a AND :b", NONE, ":p=?,:a=?,:b=?", "K pk EQ :p; sk BETWEEN :a :b"},
	{"K:pk = :p AND begins_with(sk, :x)", NONE, ":p=?,:x=?", "K pk EQ :p; sk BEGINS_WITH :x"},
	{"K:(pk = :p) AND (sk >= :s)", NONE, ":p=?,:s=?", "K pk EQ :p; sk GE :s"},
	{"K:#p = :p AND #s > :s", "#p=pk,#s=sk", ":p=?,:s=?", "K pk EQ :p; sk GT :s"},
	{"K:pk = :p OR sk = :s", NONE, ":p=?,:s=?", "! Invalid operator used in KeyConditionExpression: OR"},
	{"K:NOT pk = :p", NONE, ":p=?", "! Invalid operator used in KeyConditionExpression: NOT"},
	{"K:pk IN (:p)", NONE, ":p=?", "! Invalid operator used in KeyConditionExpression: IN"},
	{"K:pk <> :p", NONE, ":p=?", "! Invalid operator used in KeyConditionExpression: <>"},
	{"K:pk = :p AND attribute_exists(sk)", NONE, ":p=?", "! Invalid operator used in KeyConditionExpression: attribute_exists"},
	{"K:pk = :p AND contains(sk, :p)", NONE, ":p=?", "! Invalid operator used in KeyConditionExpression: contains"},
	{"K:size(pk) = :p", NONE, ":p=?", "! KeyConditionExpressions cannot contain nested operations"},
	{"K:pk = :p AND pk = :q", NONE, ":p=?,:q=?", "! KeyConditionExpressions must only contain one condition per key"},
	{"K:pk.x = :p", NONE, ":p=?", "! KeyConditionExpressions cannot have conditions on nested attributes"},
	{"K:pk = sk", NONE, NONE, "! Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"},
	{"K::a = :b", NONE, ":a=?,:b=?", "! Invalid condition in KeyConditionExpression: No key attribute specified"},
	{"K:pk = :p AND :a BETWEEN sk AND :b", NONE, ":p=?,:a=?,:b=?", "! Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand"},
	{"K:pk = :p AND begins_with(:x, sk)", NONE, ":p=?,:x=?", "! Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand"},
	{"K:pk = :p AND (sk = :s AND x = :x)", NONE, ":p=?,:s=?,:x=?", "K pk EQ :p; sk EQ :s; x EQ :x"},
	{"K:pk = :v", NONE, ":v=?,:w=?", "! Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"},

	/* ---- expression order across a request ---- */
	{"U:SET a = :v|C:name = :v", NONE, ":v=?", "! Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: name"},
	{"U:SET name = :v|C:b = :v", NONE, ":v=?", "! Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: name"},
	{"F:a = :v|K:pk = :w|P:#x", NONE, ":v=?,:w=?", "! Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; attribute name: #x"},
	{"K:pk = :w|F:a = :zz", NONE, ":w=?", "! Invalid FilterExpression: An expression attribute value used in expression is not defined; attribute value: :zz"},

	/* ---- error precedence inside one expression ---- */
	{"C:name = :undefined AND foo(a)", NONE, NONE, "! Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: name"},
	{"C:#undef = :v AND size(a, b) > :v", NONE, ":v=?", "! Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #undef"},
	{"C:size(a, b) > :undef", NONE, NONE, "! Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: size, number of operands: 2"},
	{"C::undef > size(a, b)", NONE, NONE, "! Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :undef"},
	{"C:a = :v AND foo(b) AND (c", NONE, ":v=?", "! Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"c\""},
	{"U:SET a = :v, a.b = :w", NONE, ":v=?", "! Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]"},
	{"U:SET a = :undef, b.#undef = :v", NONE, ":v=?", "! Invalid UpdateExpression: An expression attribute name used in the document path is not defined; attribute name: #undef"},
	{"U:SET a = :x, b = :y", NONE, ":v=?", "! Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :y"},
	{"", "#a=x", NONE, "! ExpressionAttributeNames can only be specified when using expressions"},
	{"C:a = :v", "#a=x", NONE, "! Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :v"},
	{NULL, NULL, NULL, NULL}
};

/* ---------------------------------------------------------------- */

static long live_chunks;
static long alloc_budget = -1;	/* < 0: unlimited */

/* malloc-backed allocator that counts live chunks and can be made to fail */
static void *
TestAlloc(void *ctx, size_t size)
{
	(void) ctx;
	if (alloc_budget == 0)
		return NULL;
	if (alloc_budget > 0)
		alloc_budget--;
	live_chunks++;
	return malloc(size);
}

/* free() counterpart of TestAlloc */
static void
TestFree(void *ctx, void *ptr)
{
	(void) ctx;
	live_chunks--;
	free(ptr);
}

typedef struct TestValue
{
	char		key[64];
	KvExprValueType type;
	char		str[64];
} TestValue;

typedef struct TestReq
{
	KvExprRequest req;
	KvExprName	names[16];
	char		namebuf[16][2][300];
	const char *values[16];
	TestValue	vals[16];
	char		texts[KVEXPR_NKINDS][8192];
	int			first_kind;
} TestReq;

/* KvExprValueTypeFn over the case's value table */
static KvExprValueType
TestValueType(void *arg, const char *placeholder, const char **str, size_t *len)
{
	TestReq    *tr = arg;

	for (int i = 0; i < tr->req.nvalues; i++)
	{
		if (strcmp(tr->vals[i].key, placeholder) == 0)
		{
			*str = tr->vals[i].str;
			*len = strlen(tr->vals[i].str);
			return tr->vals[i].type;
		}
	}
	return KVEXPR_TYPE_UNKNOWN;
}

/* Type symbol to KvExprValueType ("?" = unknown) */
static KvExprValueType
ParseType(const char *t)
{
	static const char *const names[] = {
		"?", "S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"
	};

	for (int i = 0; i < 11; i++)
		if (strcmp(t, names[i]) == 0)
			return (KvExprValueType) i;
	return KVEXPR_TYPE_UNKNOWN;
}

/* Build a KvExprRequest from the case's mini-language */
static void
BuildRequest(const TestCase *tc, TestReq *tr)
{
	char		tmp[8192];
	char	   *save;
	char	   *tok;

	memset(tr, 0, sizeof(*tr));
	tr->first_kind = -1;
	snprintf(tmp, sizeof(tmp), "%s", tc->exprs);
	for (tok = strtok_r(tmp, "|", &save); tok; tok = strtok_r(NULL, "|", &save))
	{
		int			kind;

		switch (tok[0])
		{
			case 'U':
				kind = KVEXPR_UPDATE;
				break;
			case 'C':
				kind = KVEXPR_CONDITION;
				break;
			case 'F':
				kind = KVEXPR_FILTER;
				break;
			case 'P':
				kind = KVEXPR_PROJECTION;
				break;
			default:
				kind = KVEXPR_KEY_CONDITION;
				break;
		}
		snprintf(tr->texts[kind], sizeof(tr->texts[kind]), "%s", tok + 2);
		tr->req.text[kind] = tr->texts[kind];
		tr->req.text_len[kind] = strlen(tok + 2);
		if (tr->first_kind < 0)
			tr->first_kind = kind;
	}
	if (tc->names)
	{
		tr->req.has_names = true;
		snprintf(tmp, sizeof(tmp), "%s", tc->names);
		for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		{
			int			i = tr->req.nnames++;
			char	   *eq = strchr(tok, '=');

			*eq = '\0';
			snprintf(tr->namebuf[i][0], 300, "%s", tok);
			snprintf(tr->namebuf[i][1], 300, "%s", eq + 1);
			tr->names[i].key = tr->namebuf[i][0];
			tr->names[i].name = tr->namebuf[i][1];
			tr->names[i].name_len = strlen(tr->namebuf[i][1]);
		}
		tr->req.names = tr->names;
	}
	if (tc->values)
	{
		tr->req.has_values = true;
		snprintf(tmp, sizeof(tmp), "%s", tc->values);
		for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		{
			int			i = tr->req.nvalues++;
			char	   *eq = strchr(tok, '=');
			char	   *colon;

			*eq = '\0';
			snprintf(tr->vals[i].key, 64, "%s", tok);
			colon = strchr(eq + 1, ':');
			if (colon)
			{
				*colon = '\0';
				snprintf(tr->vals[i].str, 64, "%s", colon + 1);
			}
			tr->vals[i].type = ParseType(eq + 1);
			tr->values[i] = tr->vals[i].key;
		}
		tr->req.values = tr->values;
	}
	tr->req.value_type = TestValueType;
	tr->req.value_type_arg = tr;
}

/* Name of a key condition operator, for the "K" notation */
static const char *
KeyOpName(KvExprKeyOp op)
{
	static const char *const n[] = {"EQ", "LT", "LE", "GT", "GE", "BETWEEN", "BEGINS_WITH"};

	return n[op];
}

/* Run the request; render the outcome in the expectation's notation */
static void
RunCase(const TestCase *tc, char *out, size_t outlen, KvExprErrorKind *kind)
{
	static TestReq tr;
	KvExprAllocator a = {TestAlloc, TestFree, NULL};
	KvExprArena arena;
	KvExprRequestResult res;

	BuildRequest(tc, &tr);
	KvExprArenaInit(&arena, &a);
	*kind = KvExprValidateRequest(&arena, &tr.req, &res);
	if (*kind != KVEXPR_OK)
		snprintf(out, outlen, "! %s", res.error.message);
	else if (tc->expect[0] == 'K')
	{
		size_t		n = 0;

		n += (size_t) snprintf(out + n, outlen - n, "K");
		for (int i = 0; i < res.nkeyconds && n < outlen; i++)
		{
			const KvExprKeyCondition *kc = &res.keyconds[i];

			n += (size_t) snprintf(out + n, outlen - n, "%s %.*s %s", i ? ";" : "",
								   (int) kc->attribute_len, kc->attribute, KeyOpName(kc->op));
			for (int j = 0; j < kc->nvalues && n < outlen; j++)
				n += (size_t) snprintf(out + n, outlen - n, " %s", kc->values[j]);
		}
	}
	else if (tr.first_kind < 0)
		snprintf(out, outlen, "= (none)");
	else
	{
		char	   *d = KvExprDump(&arena, res.expr[tr.first_kind]);

		snprintf(out, outlen, "= %s", d ? d : "(null)");
	}
	KvExprArenaDestroy(&arena);
}

/* The error kind a message should carry */
static KvExprErrorKind
ExpectedKind(const char *msg)
{
	if (strstr(msg, ": Syntax error; token: "))
		return KVEXPR_ERROR_SYNTAX;
	if (strstr(msg, "size has exceeded") || strstr(msg, "too many") ||
		strstr(msg, "nested too deeply"))
		return KVEXPR_ERROR_LIMIT;
	return KVEXPR_ERROR_VALIDATION;
}

static int	passed,
			failed;

/* Compare and count one result */
static void
Check(const char *what, const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		passed++;
	else
	{
		failed++;
		printf("FAIL %s\n  want: %s\n  got:  %s\n", what, want, got);
	}
}

/* Cases built programmatically: limits */
static void
LimitTests(void)
{
	static char buf[16384];
	static char want[512];
	static char out[20000];
	KvExprErrorKind kind;
	TestCase	tc;
	int			n;

	/* 4096 bytes accepted, 4097 rejected (with size suffix for conditions) */
	memset(buf, 0, sizeof(buf));
	buf[0] = 'P';
	buf[1] = ':';
	buf[2] = 'a';
	memset(buf + 3, 'z', 4095);
	tc = (TestCase)
	{
		buf, NULL, NULL, "= x"
	};
	RunCase(&tc, out, sizeof(out), &kind);
	Check("projection 4096 bytes", kind == KVEXPR_OK ? "ok" : out, "ok");
	buf[3 + 4095] = 'z';
	RunCase(&tc, out, sizeof(out), &kind);
	Check("projection 4097 bytes", out, "! Invalid ProjectionExpression: Expression size has exceeded the maximum allowed size;");

	n = snprintf(buf, sizeof(buf), "C:attribute_not_exists(a");
	memset(buf + n, 'z', 4100 - n);
	snprintf(buf + 4100, sizeof(buf) - 4100, ")");
	RunCase(&tc, out, sizeof(out), &kind);
	Check("condition 4099 bytes", out, "! Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; expression size: 4099");
	buf[0] = 'K';
	RunCase(&tc, out, sizeof(out), &kind);
	Check("key condition 4099 bytes", out, "! Invalid KeyConditionExpression: Expression size has exceeded the maximum allowed size;");

	/* 300 operators fine, 301 not */
	for (int ops = 300; ops <= 301; ops++)
	{
		/* c comparisons and c-1 ANDs: 2c-1 operators, plus a NOT if even */
		int			c = (ops + 1) / 2;

		n = snprintf(buf, sizeof(buf), "C:%sa = :v", ops % 2 == 0 ? "NOT " : "");
		for (int i = 1; i < c; i++)
			n += snprintf(buf + n, sizeof(buf) - (size_t) n, " AND a = :v");
		tc = (TestCase)
		{
			buf, NULL, ":v=?", "= x"
		};
		RunCase(&tc, out, sizeof(out), &kind);
		if (ops == 300)
			Check("300 operators", kind == KVEXPR_OK ? "ok" : out, "ok");
		else
			Check("301 operators", out, "! Invalid ConditionExpression: The expression contains too many operators; operator count: 301");
	}

	/* IN with 100 / 101 operands */
	for (int k = 100; k <= 101; k++)
	{
		n = snprintf(buf, sizeof(buf), "C:a IN (:v");
		for (int i = 1; i < k; i++)
			n += snprintf(buf + n, sizeof(buf) - (size_t) n, ", :v");
		snprintf(buf + n, sizeof(buf) - (size_t) n, ")");
		tc = (TestCase)
		{
			buf, NULL, ":v=?", "= x"
		};
		RunCase(&tc, out, sizeof(out), &kind);
		if (k == 100)
			Check("IN 100", kind == KVEXPR_OK ? "ok" : out, "ok");
		else
			Check("IN 101", out, "! Invalid ConditionExpression: The IN operator is provided with too many operands; number of operands: 101");
	}

	/* path depth 32 / 33 */
	for (int d = 32; d <= 33; d++)
	{
		n = snprintf(buf, sizeof(buf), "P:a");
		for (int i = 1; i < d; i++)
			n += snprintf(buf + n, sizeof(buf) - (size_t) n, ".b%d", i);
		tc = (TestCase)
		{
			buf, NULL, NULL, "= x"
		};
		RunCase(&tc, out, sizeof(out), &kind);
		if (d == 32)
			Check("depth 32", kind == KVEXPR_OK ? "ok" : out, "ok");
		else
			Check("depth 33", out, "! Invalid ProjectionExpression: The document path has too many nesting levels; nesting levels: 33");
	}

	/* deep nesting: bounded, no crash */
	n = snprintf(buf, sizeof(buf), "C:");
	for (int i = 0; i < 1000; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t) n, "NOT ");
	snprintf(buf + n, sizeof(buf) - (size_t) n, "a = :v");
	tc = (TestCase)
	{
		buf, NULL, ":v=?", "= x"
	};
	RunCase(&tc, out, sizeof(out), &kind);
	snprintf(want, sizeof(want), "! Invalid ConditionExpression: The expression is nested too deeply; nesting levels: %d", KVEXPR_MAX_NESTING + 1);
	Check("1000 NOTs", out, want);

	n = snprintf(buf, sizeof(buf), "C:");
	for (int i = 0; i < 290; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t) n, "NOT ");
	snprintf(buf + n, sizeof(buf) - (size_t) n, "a = :v");
	RunCase(&tc, out, sizeof(out), &kind);
	Check("290 NOTs", kind == KVEXPR_OK ? "ok" : out, "ok");

	n = snprintf(buf, sizeof(buf), "C:");
	for (int i = 0; i < 2000; i++)
		buf[n++] = '(';
	snprintf(buf + n, sizeof(buf) - (size_t) n, "a");
	RunCase(&tc, out, sizeof(out), &kind);
	snprintf(want, sizeof(want), "! Invalid ConditionExpression: The expression is nested too deeply; nesting levels: %d", KVEXPR_MAX_NESTING + 1);
	Check("2000 parens", out, want);

	/* key too long */
	{
		static char names[400];

		names[0] = '#';
		memset(names + 1, 'k', 255);
		snprintf(names + 256, sizeof(names) - 256, "=x");
		tc = (TestCase)
		{
			"C:a = :v", names, ":v=?", "= x"
		};
		RunCase(&tc, out, sizeof(out), &kind);
		Check("name key 256 bytes", out, "! ExpressionAttributeNames contains invalid key: The expression attribute map contains a key that is too long; size of key: 256");
	}
}

/* Allocation failure at every point must end in OUT_OF_MEMORY, no leak */
static void
OomTests(void)
{
	static const TestCase tc = {
		"U:SET a = list_append(if_not_exists(a, :e), :v), b.c[1] = :v REMOVE d|C:attribute_exists(#k) AND (x < :v OR NOT y IN (:v, :e))",
		"#k=k", ":v=?,:e=?", "= x"
	};
	char		out[4096];
	KvExprErrorKind kind;
	int			ok = 0;

	for (long budget = 0; budget < 200; budget++)
	{
		alloc_budget = budget;
		RunCase(&tc, out, sizeof(out), &kind);
		if (kind == KVEXPR_OK)
		{
			ok = 1;
			break;
		}
		if (kind != KVEXPR_ERROR_OUT_OF_MEMORY)
		{
			Check("oom kind", out, "out of memory");
			break;
		}
	}
	alloc_budget = -1;
	Check("oom eventually succeeds", ok ? "ok" : "never", "ok");
}

/* KvExprParse: no resolution, placeholders stay in the AST */
static void
ParseApiTests(void)
{
	static const struct
	{
		KvExprKind	kind;
		const char *text;
		const char *expect;
	}			pcases[] = {
		{KVEXPR_CONDITION, "#n.a[2] = :v", "= (= [#n, a, [2]] :v)"},
		{KVEXPR_UPDATE, "SET #a = :v REMOVE b", "= SET [#a] = :v; REMOVE [b]"},
		{KVEXPR_PROJECTION, "a, #b.c", "= [a], [#b, c]"},
		{KVEXPR_UPDATE, "SET name = :v", "! Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: name"},
		{KVEXPR_PROJECTION, "a.:v", "! Invalid ProjectionExpression: The document path cannot contain attribute value parameters; attribute value: :v"},
		{KVEXPR_FILTER, "a = ", "! Invalid FilterExpression: Syntax error; token: \"<EOF>\", near: \"= \""},
	};
	KvExprAllocator a = {TestAlloc, TestFree, NULL};

	for (size_t i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++)
	{
		KvExprArena arena;
		KvExpr	   *e;
		KvExprError err;
		char		out[1024];

		KvExprArenaInit(&arena, &a);
		if (KvExprParse(&arena, pcases[i].kind, pcases[i].text, strlen(pcases[i].text), &e, &err) == KVEXPR_OK)
			snprintf(out, sizeof(out), "= %s", KvExprDump(&arena, e));
		else
			snprintf(out, sizeof(out), "! %s", err.message);
		Check(pcases[i].text, out, pcases[i].expect);
		KvExprArenaDestroy(&arena);
	}
}

/* Run the table, the limit tests and the allocation-failure test */
int
main(void)
{
	char		out[20000];

	for (const TestCase *tc = cases; tc->exprs != NULL; tc++)
	{
		KvExprErrorKind kind;
		char		what[8300];

		RunCase(tc, out, sizeof(out), &kind);
		snprintf(what, sizeof(what), "[%s]", tc->exprs);
		Check(what, out, tc->expect);
		if (kind != KVEXPR_OK && kind != ExpectedKind(out))
		{
			failed++;
			printf("FAIL %s: error kind %d for \"%s\"\n", what, (int) kind, out);
		}
	}
	LimitTests();
	ParseApiTests();
	OomTests();

	if (live_chunks != 0)
	{
		failed++;
		printf("FAIL arena leak: %ld chunks live\n", live_chunks);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
