/*-------------------------------------------------------------------------
 *
 * fuzz_expr.c
 *	  libFuzzer target for the expression front end (src/expr/).
 *
 * Input layout (so seeds stay readable):
 *
 *	byte 0		header: bits 0-2 kind of the first expression (mod 5),
 *				bit 3 supply value types, bits 4-6 kind of an optional second
 *				expression (mod 5), bit 7 second expression present
 *	...\0		first expression text (up to the first NUL)
 *	...\0		ExpressionAttributeNames, "#k=name,#k2=name2" ("" = absent,
 *				"!" = present but empty)
 *	...\0		ExpressionAttributeValues, ":k=T,:k2=T" with T a type symbol
 *				(S, N, B, BOOL, NULL, SS, NS, BS, L, M; "S:text" for strings)
 *	...			second expression text (rest of the input)
 *
 * Besides ASan/UBSan/LSan, the target checks the AST invariants expr.h
 * promises to the evaluator and aborts when one does not hold.
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr/expr.h"

#define MAX_ENTRIES 64

typedef struct FuzzValue
{
	const char *key;
	KvExprValueType type;
	const char *str;
	size_t		len;
} FuzzValue;

typedef struct FuzzState
{
	FuzzValue	vals[MAX_ENTRIES];
	int			nvals;
} FuzzState;

/* malloc-backed allocator: LeakSanitizer sees any chunk the arena loses */
static void *
FuzzAlloc(void *ctx, size_t size)
{
	(void) ctx;
	return malloc(size);
}

/* free() counterpart of FuzzAlloc */
static void
FuzzFree(void *ctx, void *ptr)
{
	(void) ctx;
	free(ptr);
}

/* KvExprValueTypeFn over the values decoded from the input */
static KvExprValueType
FuzzValueType(void *arg, const char *placeholder, const char **str, size_t *len)
{
	FuzzState  *fs = arg;

	for (int i = 0; i < fs->nvals; i++)
	{
		if (strcmp(fs->vals[i].key, placeholder) == 0)
		{
			*str = fs->vals[i].str;
			*len = fs->vals[i].len;
			return fs->vals[i].type;
		}
	}
	return KVEXPR_TYPE_UNKNOWN;
}

#define CHECK(cond) \
	do { if (!(cond)) { fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); abort(); } } while (0)

/* Invariants of a validated document path */
static void
CheckPath(const KvExprPath *p)
{
	CHECK(p->nelems >= 1 && p->nelems <= KVEXPR_MAX_PATH_DEPTH);
	CHECK(p->elems[0].kind == KVEXPR_ELEM_NAME);
	for (int i = 0; i < p->nelems; i++)
	{
		CHECK(p->elems[i].name != NULL);
		if (p->elems[i].kind == KVEXPR_ELEM_INDEX)
			CHECK(p->elems[i].index <= 2147483647u);
		else
			CHECK(p->elems[i].placeholder == NULL || p->elems[i].placeholder[0] == '#');
	}
}

/* Node types allowed in operand positions */
static bool
IsOperand(const KvExprNode *n)
{
	return n->type == KVEXPR_NODE_PATH || n->type == KVEXPR_NODE_VALUE ||
		n->type == KVEXPR_NODE_FUNC || n->type == KVEXPR_NODE_PLUS ||
		n->type == KVEXPR_NODE_MINUS;
}

/* Check a validated operand / condition tree; cond: condition position */
static void
CheckNode(const KvExprNode *n, bool cond, bool update, int depth)
{
	CHECK(depth <= KVEXPR_MAX_NESTING + 2);
	switch (n->type)
	{
		case KVEXPR_NODE_PATH:
			CHECK(!cond);
			CheckPath(&n->path);
			return;
		case KVEXPR_NODE_VALUE:
			CHECK(!cond);
			CHECK(n->value && n->value[0] == ':');
			return;
		case KVEXPR_NODE_FUNC:
			CHECK(n->func != KVEXPR_FUNC_UNKNOWN);
			if (update)
				CHECK(n->func == KVEXPR_FUNC_IF_NOT_EXISTS || n->func == KVEXPR_FUNC_LIST_APPEND);
			else if (cond)
				CHECK(n->func != KVEXPR_FUNC_SIZE && n->func != KVEXPR_FUNC_IF_NOT_EXISTS &&
					  n->func != KVEXPR_FUNC_LIST_APPEND);
			else
				CHECK(n->func == KVEXPR_FUNC_SIZE);
			CHECK(n->nargs == ((n->func == KVEXPR_FUNC_ATTRIBUTE_EXISTS ||
								n->func == KVEXPR_FUNC_ATTRIBUTE_NOT_EXISTS ||
								n->func == KVEXPR_FUNC_SIZE) ? 1 : 2));
			if (n->func == KVEXPR_FUNC_ATTRIBUTE_EXISTS || n->func == KVEXPR_FUNC_ATTRIBUTE_NOT_EXISTS ||
				n->func == KVEXPR_FUNC_ATTRIBUTE_TYPE || n->func == KVEXPR_FUNC_IF_NOT_EXISTS)
				CHECK(n->args[0]->type == KVEXPR_NODE_PATH);
			if (n->func == KVEXPR_FUNC_ATTRIBUTE_TYPE)
				CHECK(n->args[1]->type == KVEXPR_NODE_VALUE);
			for (int i = 0; i < n->nargs; i++)
			{
				CHECK(IsOperand(n->args[i]));
				CheckNode(n->args[i], false, update, depth + 1);
			}
			return;
		case KVEXPR_NODE_PLUS:
		case KVEXPR_NODE_MINUS:
			CHECK(update && !cond && n->nargs == 2);
			for (int i = 0; i < 2; i++)
			{
				CHECK(n->args[i]->type != KVEXPR_NODE_PLUS && n->args[i]->type != KVEXPR_NODE_MINUS);
				CheckNode(n->args[i], false, update, depth + 1);
			}
			return;
		case KVEXPR_NODE_COMPARE:
		case KVEXPR_NODE_BETWEEN:
		case KVEXPR_NODE_IN:
			CHECK(cond && !update);
			if (n->type == KVEXPR_NODE_COMPARE)
				CHECK(n->nargs == 2 && (unsigned) n->cmp <= KVEXPR_CMP_GE);
			else if (n->type == KVEXPR_NODE_BETWEEN)
				CHECK(n->nargs == 3);
			else
				CHECK(n->nargs >= 2 && n->nargs <= KVEXPR_MAX_IN_OPERANDS + 1);
			for (int i = 0; i < n->nargs; i++)
			{
				CHECK(IsOperand(n->args[i]));
				CheckNode(n->args[i], false, update, depth + 1);
			}
			return;
		case KVEXPR_NODE_AND:
		case KVEXPR_NODE_OR:
		case KVEXPR_NODE_NOT:
			CHECK(cond && !update);
			CHECK(n->type == KVEXPR_NODE_NOT ? n->nargs == 1 : n->nargs >= 2);
			for (int i = 0; i < n->nargs; i++)
				CheckNode(n->args[i], true, update, depth + 1);
			return;
	}
	CHECK(!"unknown node type");
}

/* Invariants of a validated expression of any kind */
static void
CheckExpr(const KvExpr *e)
{
	switch (e->kind)
	{
		case KVEXPR_UPDATE:
			CHECK(e->nactions >= 1);
			for (int i = 0; i < e->nactions; i++)
			{
				const KvExprUpdateAction *a = &e->actions[i];

				CheckPath(&a->path);
				if (a->type == KVEXPR_UPDATE_REMOVE)
					CHECK(a->value == NULL);
				else if (a->type == KVEXPR_UPDATE_SET)
					CheckNode(a->value, false, true, 0);
				else
					CHECK(a->value && a->value->type == KVEXPR_NODE_VALUE);
			}
			break;
		case KVEXPR_PROJECTION:
			CHECK(e->npaths >= 1);
			for (int i = 0; i < e->npaths; i++)
				CheckPath(&e->paths[i]);
			break;
		default:
			CheckNode(e->cond, true, false, 0);
			break;
	}
}

/* Type symbol ("S", "NS", ...) to KvExprValueType; UNKNOWN otherwise */
static KvExprValueType
ParseType(const char *t, size_t len)
{
	static const char *const names[] = {
		"?", "S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"
	};

	for (int i = 1; i < 11; i++)
		if (strlen(names[i]) == len && memcmp(t, names[i], len) == 0)
			return (KvExprValueType) i;
	return KVEXPR_TYPE_UNKNOWN;
}

/* Split s (NUL-terminated, writable) at ',' into key=val entries */
static int
SplitEntries(char *s, char **keys, char **vals)
{
	int			n = 0;
	char	   *p = s;

	while (*p && n < MAX_ENTRIES)
	{
		char	   *end = strchr(p, ',');
		char	   *eq;

		if (end)
			*end = '\0';
		keys[n] = p;
		eq = strchr(p, '=');
		if (eq)
		{
			*eq = '\0';
			vals[n] = eq + 1;
		}
		else
			vals[n] = p + strlen(p);
		n++;
		if (!end)
			break;
		p = end + 1;
	}
	return n;
}

/*
 * LLVMFuzzerTestOneInput
 *		Decode the input (see the file header), validate the request, check
 *		the result's invariants, then run KvExprParse on the first text.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	KvExprAllocator alloc = {FuzzAlloc, FuzzFree, NULL};
	KvExprArena arena;
	KvExprRequest req;
	KvExprRequestResult res;
	FuzzState	fs;
	KvExprName	names[MAX_ENTRIES];
	const char *values[MAX_ENTRIES];
	char	   *keys[MAX_ENTRIES];
	char	   *vals[MAX_ENTRIES];
	char	   *buf;
	char	   *seg[4];
	size_t		seglen[4];
	size_t		pos;
	uint8_t		hdr;
	int			kind1;

	if (size < 1 || size > 20000)
		return 0;
	hdr = data[0];

	/* a writable, NUL-terminated copy to split */
	buf = malloc(size + 1);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	pos = 0;
	for (int i = 0; i < 4; i++)
	{
		seg[i] = buf + pos;
		if (i < 3)
		{
			size_t		l = 0;

			while (pos + l < size - 1 && buf[pos + l] != '\0')
				l++;
			seglen[i] = l;
			pos += l + (pos + l < size - 1 ? 1 : 0);
		}
		else
			seglen[i] = size - 1 - pos;
	}

	memset(&req, 0, sizeof(req));
	memset(&fs, 0, sizeof(fs));
	kind1 = (hdr & 7) % KVEXPR_NKINDS;
	req.text[kind1] = seg[0];
	req.text_len[kind1] = seglen[0];
	if (hdr & 0x80)
	{
		int			kind2 = ((hdr >> 4) & 7) % KVEXPR_NKINDS;

		if (kind2 != kind1)
		{
			req.text[kind2] = seg[3];
			req.text_len[kind2] = seglen[3];
		}
	}

	if (seglen[1] > 0)
	{
		char	   *s = seg[1];
		int			n;

		req.has_names = true;
		n = (strcmp(s, "!") == 0) ? 0 : SplitEntries(s, keys, vals);
		for (int i = 0; i < n; i++)
		{
			names[i].key = keys[i];
			names[i].name = vals[i];
			names[i].name_len = strlen(vals[i]);
		}
		req.nnames = n;
		req.names = names;
	}
	if (seglen[2] > 0)
	{
		char	   *s = seg[2];
		int			n;

		req.has_values = true;
		n = (strcmp(s, "!") == 0) ? 0 : SplitEntries(s, keys, vals);
		for (int i = 0; i < n; i++)
		{
			char	   *colon = strchr(vals[i], ':');
			size_t		tlen = colon ? (size_t) (colon - vals[i]) : strlen(vals[i]);

			values[i] = keys[i];
			fs.vals[i].key = keys[i];
			fs.vals[i].type = ParseType(vals[i], tlen);
			fs.vals[i].str = colon ? colon + 1 : "";
			fs.vals[i].len = strlen(fs.vals[i].str);
		}
		fs.nvals = n;
		req.nvalues = n;
		req.values = values;
	}
	if (hdr & 8)
	{
		req.value_type = FuzzValueType;
		req.value_type_arg = &fs;
	}

	KvExprArenaInit(&arena, &alloc);
	if (KvExprValidateRequest(&arena, &req, &res) == KVEXPR_OK)
	{
		for (int k = 0; k < KVEXPR_NKINDS; k++)
		{
			if (req.text[k] == NULL)
				CHECK(res.expr[k] == NULL);
			else
			{
				CHECK(res.expr[k] != NULL && res.expr[k]->kind == (KvExprKind) k);
				CheckExpr(res.expr[k]);
				CHECK(KvExprDump(&arena, res.expr[k]) != NULL);
			}
		}
		if (req.text[KVEXPR_KEY_CONDITION])
		{
			CHECK(res.nkeyconds >= 1);
			for (int i = 0; i < res.nkeyconds; i++)
				CHECK(res.keyconds[i].attribute != NULL && res.keyconds[i].nvalues >= 1);
		}
	}
	else
	{
		CHECK(res.error.message != NULL && res.error.message[0] != '\0');
		CHECK(res.error.kind != KVEXPR_ERROR_OUT_OF_MEMORY);
		if (res.error.kind == KVEXPR_ERROR_SYNTAX)
			CHECK(strstr(res.error.message, ": Syntax error; token: \"") != NULL);
	}
	KvExprArenaDestroy(&arena);

	/* the resolution-free parser on the first text */
	{
		KvExpr	   *e;
		KvExprError err;

		KvExprArenaInit(&arena, &alloc);
		if (KvExprParse(&arena, (KvExprKind) kind1, seg[0], seglen[0], &e, &err) == KVEXPR_OK)
			CHECK(e != NULL && KvExprDump(&arena, e) != NULL);
		else
			CHECK(err.message != NULL);
		KvExprArenaDestroy(&arena);
	}

	free(buf);
	return 0;
}
