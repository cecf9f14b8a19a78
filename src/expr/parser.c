/*-------------------------------------------------------------------------
 *
 * parser.c
 *	  Recursive-descent parser for DynamoDB expressions.
 *
 * The grammar is DynamoDB's (the ANTLR grammar of DynamoDB Local):
 *
 *	condition  := operand comp operand | operand IN '(' operand (',' operand)* ')'
 *				| operand BETWEEN operand AND operand | function
 *				| '(' condition ')' | NOT condition | condition AND condition
 *				| condition OR condition		(NOT > AND > OR)
 *	update	   := ( SET set_action (',' set_action)* | ADD path :v (',' ...)*
 *				  | DELETE path :v (',' ...)* | REMOVE path (',' path)* )+
 *	set_value  := operand | arithmetic
 *	arithmetic := operand ('+'|'-') operand | '(' arithmetic ')'
 *	operand    := path | :v | function | '(' operand ')'
 *	function   := ID '(' operand (',' operand)* ')'
 *	path	   := id ( '.' id | '[' digits ']' | '.' :v )*	 id := ID | #name
 *	projection := path (',' path)*
 *
 * Error reporting mimics ANTLR's: the offending token is the first token at
 * which the input stops being a prefix of some valid expression, and the
 * "near" snippet runs from the previous token to the token after the
 * offending one.  "((x))" is rejected as redundant parentheses when the
 * closing parenthesis is reached; where DynamoDB's parser would still have
 * been deciding whether a parenthesised thing is an operand or a condition,
 * the error waits until the following token settles it, as ANTLR's
 * prediction does.
 *
 * AND and OR chains are collected into n-ary nodes (DynamoDB's tree is
 * right-nested; evaluation and validation order are the same), so recursion
 * depth is bounded by parentheses, NOT and function calls, which are counted
 * against KVEXPR_MAX_NESTING.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "expr_int.h"

typedef struct Parser
{
	KvExprErrState *es;
	KvExprArena *arena;
	const char *text;
	int			len;
	KvToken    *toks;
	int			ntoks;
	int			pos;
	int			depth;			/* syntactic nesting */
	int			group_depth;	/* open condition parentheses */
} Parser;

typedef struct NodeVec
{
	KvExprNode **items;
	int			n;
	int			cap;
} NodeVec;

static KvExprNode *ParseOr(Parser *p, bool allow_operand);
static KvExprNode *ParseOperand(Parser *p);
static bool ParseOperandList(Parser *p, NodeVec *vec);
static KvExprNode *ParsePrimaryOperand(Parser *p);

/*
 * KvExprSetError
 *		Record the first error of an expression; later ones are ignored.
 */
void
KvExprSetError(KvExprErrState *es, KvExprErrorKind kind, const char *message)
{
	if (es->err != KVEXPR_OK)
		return;
	if (message == NULL || es->arena->failed)
	{
		es->err = KVEXPR_ERROR_OUT_OF_MEMORY;
		es->message = "out of memory";
		return;
	}
	es->err = kind;
	es->message = message;
}

/*
 * Failed
 *		True once an error (or allocation failure) has been recorded.
 */
static inline bool
Failed(Parser *p)
{
	if (p->arena->failed && p->es->err == KVEXPR_OK)
		KvExprSetError(p->es, KVEXPR_ERROR_OUT_OF_MEMORY, NULL);
	return p->es->err != KVEXPR_OK;
}

/*
 * Tok / TokType
 *		The current token.
 */
static inline KvToken *
Tok(Parser *p)
{
	return &p->toks[p->pos];
}

static inline KvTokType
TokType(Parser *p)
{
	return p->toks[p->pos].type;
}

/*
 * Advance
 *		Consume the current token (never moves past EOF).
 */
static inline void
Advance(Parser *p)
{
	if (p->toks[p->pos].type != TK_EOF)
		p->pos++;
}

/*
 * SyntaxError
 *		Report `Syntax error; token: "<tok>", near: "<snippet>"` for the
 *		current token.  Like DynamoDB, the snippet is the source text from
 *		the previous token (or the start) through the next token (or the end
 *		of the text), whitespace included.  Returns NULL for convenience.
 */
static KvExprNode *
SyntaxError(Parser *p)
{
	KvToken    *cur = Tok(p);
	int			start;
	int			end;
	KvExprBuf	buf;

	if (Failed(p))
		return NULL;
	start = p->pos > 0 ? p->toks[p->pos - 1].start : 0;
	if (cur->type != TK_EOF && p->toks[p->pos + 1].type != TK_EOF)
		end = p->toks[p->pos + 1].start + p->toks[p->pos + 1].len;
	else
		end = p->len;

	KvExprBufInit(&buf, p->arena);
	KvExprBufAppendStr(&buf, "Syntax error; token: \"");
	if (cur->type == TK_EOF)
		KvExprBufAppendStr(&buf, "<EOF>");
	else
		KvExprBufAppend(&buf, p->text + cur->start, (size_t) cur->len);
	KvExprBufAppendStr(&buf, "\", near: \"");
	KvExprBufAppend(&buf, p->text + start, (size_t) (end - start));
	KvExprBufAppendStr(&buf, "\"");
	KvExprSetError(p->es, KVEXPR_ERROR_SYNTAX, buf.data);
	return NULL;
}

/*
 * RedundantParens
 *		Report DynamoDB's redundant-parentheses error.
 */
static KvExprNode *
RedundantParens(Parser *p)
{
	KvExprSetError(p->es, KVEXPR_ERROR_VALIDATION,
				   "The expression has redundant parentheses;");
	return NULL;
}

/*
 * Expect
 *		Consume a token of the given type or report a syntax error.
 */
static bool
Expect(Parser *p, KvTokType type)
{
	if (TokType(p) != type)
	{
		SyntaxError(p);
		return false;
	}
	Advance(p);
	return true;
}

/*
 * EnterNesting / LeaveNesting
 *		Count one level of syntactic nesting against KVEXPR_MAX_NESTING.
 */
static bool
EnterNesting(Parser *p, int levels)
{
	p->depth += levels;
	if (p->depth > KVEXPR_MAX_NESTING)
	{
		KvExprBuf	buf;

		KvExprBufInit(&buf, p->arena);
		KvExprBufAppendStr(&buf, "The expression is nested too deeply; nesting levels: ");
		KvExprBufAppendInt(&buf, p->depth);
		KvExprSetError(p->es, KVEXPR_ERROR_LIMIT, buf.data);
		return false;
	}
	return true;
}

static inline void
LeaveNesting(Parser *p, int levels)
{
	p->depth -= levels;
}

/*
 * NewNode
 *		Allocate a node of the given type at the current token.
 */
static KvExprNode *
NewNode(Parser *p, KvExprNodeType type, int location)
{
	KvExprNode *n = KvExprArenaAlloc(p->arena, sizeof(KvExprNode));

	if (n == NULL)
	{
		Failed(p);
		return NULL;
	}
	n->type = type;
	n->location = location;
	return n;
}

/*
 * VecPush
 *		Append a node pointer to a vector, doubling its capacity as needed.
 */
static bool
VecPush(Parser *p, NodeVec *v, KvExprNode *node)
{
	if (v->n == v->cap)
	{
		int			newcap = v->cap ? v->cap * 2 : 4;
		KvExprNode **items = KvExprArenaAlloc(p->arena,
											  sizeof(KvExprNode *) * (size_t) newcap);

		if (items == NULL)
		{
			Failed(p);
			return false;
		}
		if (v->n > 0)
			memcpy(items, v->items, sizeof(KvExprNode *) * (size_t) v->n);
		v->items = items;
		v->cap = newcap;
	}
	v->items[v->n++] = node;
	return true;
}

/*
 * NodeFromVec
 *		Build a node whose arguments are the vector's nodes.
 */
static KvExprNode *
NodeFromVec(Parser *p, KvExprNodeType type, int location, NodeVec *v)
{
	KvExprNode *n = NewNode(p, type, location);

	if (n == NULL)
		return NULL;
	n->nargs = v->n;
	n->args = v->items;
	return n;
}

/*
 * NodeWithArgs
 *		Build a node with up to three arguments.
 */
static KvExprNode *
NodeWithArgs(Parser *p, KvExprNodeType type, int location, int nargs,
			 KvExprNode *a0, KvExprNode *a1, KvExprNode *a2)
{
	KvExprNode *n = NewNode(p, type, location);

	if (n == NULL)
		return NULL;
	n->args = KvExprArenaAlloc(p->arena, sizeof(KvExprNode *) * 3);
	if (n->args == NULL)
	{
		Failed(p);
		return NULL;
	}
	n->nargs = nargs;
	n->args[0] = a0;
	n->args[1] = a1;
	n->args[2] = a2;
	return n;
}

/*
 * FuncFromName
 *		Map a function name (case-sensitive) to KvExprFunc.
 */
static KvExprFunc
FuncFromName(const char *s, int len)
{
	static const struct
	{
		const char *name;
		KvExprFunc	func;
	}			funcs[] =
	{
		{"attribute_exists", KVEXPR_FUNC_ATTRIBUTE_EXISTS},
		{"attribute_not_exists", KVEXPR_FUNC_ATTRIBUTE_NOT_EXISTS},
		{"attribute_type", KVEXPR_FUNC_ATTRIBUTE_TYPE},
		{"begins_with", KVEXPR_FUNC_BEGINS_WITH},
		{"contains", KVEXPR_FUNC_CONTAINS},
		{"size", KVEXPR_FUNC_SIZE},
		{"if_not_exists", KVEXPR_FUNC_IF_NOT_EXISTS},
		{"list_append", KVEXPR_FUNC_LIST_APPEND},
	};

	for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
	{
		if ((int) strlen(funcs[i].name) == len &&
			memcmp(funcs[i].name, s, (size_t) len) == 0)
			return funcs[i].func;
	}
	return KVEXPR_FUNC_UNKNOWN;
}

/*
 * ParsePath
 *		path := id ( '.' id | '[' digits ']' | '.' :v )*
 *		The current token is an ID or #name.
 */
static bool
ParsePath(Parser *p, KvExprPath *path)
{
	int			cap = 4;
	int			n = 0;
	KvExprPathElem *elems = KvExprArenaAlloc(p->arena, sizeof(KvExprPathElem) * (size_t) cap);

	if (elems == NULL)
	{
		Failed(p);
		return false;
	}

	for (;;)
	{
		KvToken    *t = Tok(p);
		KvExprPathElem *e;

		if (n == cap)
		{
			KvExprPathElem *ne = KvExprArenaAlloc(p->arena,
												  sizeof(KvExprPathElem) * (size_t) cap * 2);

			if (ne == NULL)
			{
				Failed(p);
				return false;
			}
			memcpy(ne, elems, sizeof(KvExprPathElem) * (size_t) n);
			elems = ne;
			cap *= 2;
		}
		e = &elems[n];

		if (n > 0)
		{
			/* dereference */
			if (t->type == TK_DOT)
			{
				Advance(p);
				t = Tok(p);
				if (t->type != TK_ID && t->type != TK_NAME_SUB && t->type != TK_VALUE_SUB)
				{
					SyntaxError(p);
					return false;
				}
			}
			else if (t->type == TK_LBRACKET)
			{
				Advance(p);
				t = Tok(p);
				if (t->type != TK_INDEX)
				{
					SyntaxError(p);
					return false;
				}
				e->kind = KVEXPR_ELEM_INDEX;
				e->name = KvExprStrndup(p->arena, p->text + t->start, (size_t) t->len);
				e->name_len = (size_t) t->len;
				/* range is checked by the tree walk, as DynamoDB does */
				{
					uint64_t	v = 0;

					for (int i = 0; i < t->len && v <= 0xFFFFFFFFu; i++)
						v = v * 10 + (uint64_t) (p->text[t->start + i] - '0');
					e->index = v > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t) v;
				}
				Advance(p);
				if (!Expect(p, TK_RBRACKET))
					return false;
				n++;
				continue;
			}
			else
				break;
		}

		/* t is ID, #name or (after a dot) :value */
		e->kind = KVEXPR_ELEM_NAME;
		e->name = KvExprStrndup(p->arena, p->text + t->start, (size_t) t->len);
		e->name_len = (size_t) t->len;
		if (t->type != TK_ID)
			e->placeholder = e->name;
		Advance(p);
		n++;
	}
	if (Failed(p))
		return false;
	path->nelems = n;
	path->elems = elems;
	return true;
}

/*
 * ParsePrimaryOperand
 *		path | :value | function call.  Errors at the current token when it
 *		starts none of them.
 */
static KvExprNode *
ParsePrimaryOperand(Parser *p)
{
	KvToken    *t = Tok(p);
	KvExprNode *n;

	if (t->type == TK_ID && p->toks[p->pos + 1].type == TK_LPAREN)
	{
		NodeVec		args = {0};

		n = NewNode(p, KVEXPR_NODE_FUNC, t->start);
		if (n == NULL)
			return NULL;
		n->func = FuncFromName(p->text + t->start, t->len);
		n->func_name = KvExprStrndup(p->arena, p->text + t->start, (size_t) t->len);
		Advance(p);				/* name */
		Advance(p);				/* ( */
		if (!EnterNesting(p, 1) || !ParseOperandList(p, &args))
			return NULL;
		n->nargs = args.n;
		n->args = args.items;
		return Failed(p) ? NULL : n;
	}
	if (t->type == TK_ID || t->type == TK_NAME_SUB)
	{
		n = NewNode(p, KVEXPR_NODE_PATH, t->start);
		if (n == NULL || !ParsePath(p, &n->path))
			return NULL;
		return n;
	}
	if (t->type == TK_VALUE_SUB)
	{
		n = NewNode(p, KVEXPR_NODE_VALUE, t->start);
		if (n == NULL)
			return NULL;
		n->value = KvExprStrndup(p->arena, p->text + t->start, (size_t) t->len);
		Advance(p);
		return Failed(p) ? NULL : n;
	}
	return SyntaxError(p);
}

/*
 * ParseOperandList appends the comma-separated operands of a function call
 * or an IN list to vec, then leaves the nesting level its caller entered
 * and consumes the closing parenthesis.
 */
static bool
ParseOperandList(Parser *p, NodeVec *vec)
{
	for (;;)
	{
		KvExprNode *operand = ParseOperand(p);

		if (operand == NULL || !VecPush(p, vec, operand))
			return false;
		if (TokType(p) != TK_COMMA)
			break;
		Advance(p);
	}
	LeaveNesting(p, 1);
	return Expect(p, TK_RPAREN);
}

/*
 * ParseOperand
 *		operand := path | :value | function | '(' operand ')'
 *		Used where the parser already knows an operand must follow, so
 *		"((x))" is rejected as soon as the second ')' is read.
 */
static KvExprNode *
ParseOperand(Parser *p)
{
	KvExprNode *inner;

	if (TokType(p) != TK_LPAREN)
		return ParsePrimaryOperand(p);
	Advance(p);
	if (!EnterNesting(p, 1))
		return NULL;
	inner = ParseOperand(p);
	if (inner == NULL)
		return NULL;
	LeaveNesting(p, 1);
	if (!Expect(p, TK_RPAREN))
		return NULL;
	if (inner->parens)
		return RedundantParens(p);
	inner->parens = 1;
	return inner;
}

/*
 * IsComparator
 *		Map a comparator token to KvExprCmp.
 */
static bool
IsComparator(KvTokType type, KvExprCmp *cmp)
{
	switch (type)
	{
		case TK_EQ:
			*cmp = KVEXPR_CMP_EQ;
			return true;
		case TK_NE:
			*cmp = KVEXPR_CMP_NE;
			return true;
		case TK_LT:
			*cmp = KVEXPR_CMP_LT;
			return true;
		case TK_LE:
			*cmp = KVEXPR_CMP_LE;
			return true;
		case TK_GT:
			*cmp = KVEXPR_CMP_GT;
			return true;
		case TK_GE:
			*cmp = KVEXPR_CMP_GE;
			return true;
		default:
			return false;
	}
}

/*
 * FinishAtom
 *		Given an operand (or a still-ambiguous parenthesised function call),
 *		parse the rest of a comparison, BETWEEN or IN, or accept a function
 *		call as a condition.  With allow_operand, an operand followed by ')'
 *		is returned as is (we are inside parentheses whose role is open).
 */
static KvExprNode *
FinishAtom(Parser *p, KvExprNode *left, bool allow_operand)
{
	KvToken    *t = Tok(p);
	KvExprCmp	cmp;
	KvExprNode *n;

	if (IsComparator(t->type, &cmp) || t->type == TK_IN || t->type == TK_BETWEEN)
	{
		if (left->flags & KVEXPR_NODE_PENDING_REDUNDANT)
			return RedundantParens(p);
	}

	if (IsComparator(t->type, &cmp))
	{
		KvExprNode *right;

		Advance(p);
		right = ParseOperand(p);
		if (right == NULL)
			return NULL;
		n = NodeWithArgs(p, KVEXPR_NODE_COMPARE, t->start, 2, left, right, NULL);
		if (n == NULL)
			return NULL;
		n->cmp = cmp;
		n->flags |= KVEXPR_NODE_IS_COND;
		return n;
	}
	if (t->type == TK_BETWEEN)
	{
		KvExprNode *lo,
				   *hi;

		Advance(p);
		lo = ParseOperand(p);
		if (lo == NULL || !Expect(p, TK_AND))
			return NULL;
		hi = ParseOperand(p);
		if (hi == NULL)
			return NULL;
		n = NodeWithArgs(p, KVEXPR_NODE_BETWEEN, t->start, 3, left, lo, hi);
		if (n == NULL)
			return NULL;
		n->flags |= KVEXPR_NODE_IS_COND;
		return n;
	}
	if (t->type == TK_IN)
	{
		NodeVec		items = {0};
		int			location = t->start;

		Advance(p);
		if (!Expect(p, TK_LPAREN))
			return NULL;
		if (!EnterNesting(p, 1) || !VecPush(p, &items, left) ||
			!ParseOperandList(p, &items))
			return NULL;
		n = NodeFromVec(p, KVEXPR_NODE_IN, location, &items);
		if (n == NULL)
			return NULL;
		n->flags |= KVEXPR_NODE_IS_COND;
		return n;
	}

	if (allow_operand && t->type == TK_RPAREN)
		return left;

	if (left->type == KVEXPR_NODE_FUNC)
	{
		/* a function call used as a condition */
		if (left->flags & KVEXPR_NODE_PENDING_REDUNDANT)
		{
			bool		follows = t->type == TK_AND || t->type == TK_OR ||
				(t->type == TK_EOF && p->group_depth == 0) ||
				(t->type == TK_RPAREN && p->group_depth > 0);

			if (!follows)
				return SyntaxError(p);
			return RedundantParens(p);
		}
		left->flags |= KVEXPR_NODE_IS_COND;
		return left;
	}
	return SyntaxError(p);
}

/*
 * ParseParenInCond
 *		'(' at the start of a condition atom: either a grouped condition or
 *		a parenthesised operand; which one is only known from what is inside
 *		(a comparison makes it a condition) or what follows.
 */
static KvExprNode *
ParseParenInCond(Parser *p)
{
	KvExprNode *inner;

	Advance(p);
	if (!EnterNesting(p, 1))
		return NULL;
	p->group_depth++;
	inner = ParseOr(p, true);
	if (inner == NULL)
		return NULL;
	p->group_depth--;
	LeaveNesting(p, 1);
	if (!Expect(p, TK_RPAREN))
		return NULL;
	if (inner->flags & KVEXPR_NODE_IS_COND)
	{
		if (inner->parens)
			return RedundantParens(p);
	}
	else if (inner->parens)
		inner->flags |= KVEXPR_NODE_PENDING_REDUNDANT;
	inner->parens = 1;
	return inner;
}

/*
 * ParseAtom
 *		One condition without AND/OR/NOT at its top: comparison, BETWEEN,
 *		IN, function call, or a parenthesised condition.
 */
static KvExprNode *
ParseAtom(Parser *p, bool allow_operand)
{
	KvExprNode *node;

	switch (TokType(p))
	{
		case TK_LPAREN:
			node = ParseParenInCond(p);
			break;
		case TK_ID:
		case TK_NAME_SUB:
		case TK_VALUE_SUB:
			node = ParsePrimaryOperand(p);
			break;
		default:
			return SyntaxError(p);
	}
	if (node == NULL)
		return NULL;
	if (node->flags & KVEXPR_NODE_IS_COND)
		return node;
	return FinishAtom(p, node, allow_operand);
}

/*
 * ParseUnary
 *		NOT* atom.  NOT binds tighter than AND and OR.
 */
static KvExprNode *
ParseUnary(Parser *p, bool allow_operand)
{
	int			nnots = 0;
	int			location = Tok(p)->start;
	KvExprNode *node;

	while (TokType(p) == TK_NOT)
	{
		Advance(p);
		nnots++;
		if (!EnterNesting(p, 1))
			return NULL;
	}
	node = ParseAtom(p, nnots > 0 ? false : allow_operand);
	if (node == NULL)
		return NULL;
	LeaveNesting(p, nnots);
	while (nnots-- > 0)
	{
		node = NodeWithArgs(p, KVEXPR_NODE_NOT, location, 1, node, NULL, NULL);
		if (node == NULL)
			return NULL;
		node->flags |= KVEXPR_NODE_IS_COND;
	}
	return node;
}

typedef KvExprNode *(*SubParser) (Parser *p, bool allow_operand);

/*
 * ParseNary
 *		sub ( op sub )*, as one n-ary node of type kind: AND and OR are
 *		parsed alike, one precedence level apart.
 */
static KvExprNode *
ParseNary(Parser *p, bool allow_operand, SubParser sub, KvTokType op, KvExprNodeType kind)
{
	NodeVec		v = {0};
	KvExprNode *first = sub(p, allow_operand);
	KvExprNode *n;

	if (first == NULL)
		return NULL;
	if (!(first->flags & KVEXPR_NODE_IS_COND) || TokType(p) != op)
		return first;
	if (!VecPush(p, &v, first))
		return NULL;
	while (TokType(p) == op)
	{
		KvExprNode *next;

		Advance(p);
		next = sub(p, false);
		if (next == NULL || !VecPush(p, &v, next))
			return NULL;
	}
	n = NodeFromVec(p, kind, first->location, &v);
	if (n)
		n->flags |= KVEXPR_NODE_IS_COND;
	return n;
}

/*
 * ParseAnd
 *		unary ( AND unary )*, as one n-ary node.
 */
static KvExprNode *
ParseAnd(Parser *p, bool allow_operand)
{
	return ParseNary(p, allow_operand, ParseUnary, TK_AND, KVEXPR_NODE_AND);
}

/*
 * ParseOr
 *		and ( OR and )*, as one n-ary node.
 */
static KvExprNode *
ParseOr(Parser *p, bool allow_operand)
{
	return ParseNary(p, allow_operand, ParseAnd, TK_OR, KVEXPR_NODE_OR);
}

/*
 * ParseArithOrOperand
 *		set_value := operand | arithmetic, with
 *		arithmetic := operand ('+'|'-') operand | '(' arithmetic ')'.
 */
static KvExprNode *
ParseArithOrOperand(Parser *p)
{
	KvExprNode *left;
	KvToken    *t;
	KvExprNode *right;
	KvExprNode *n;

	if (TokType(p) == TK_LPAREN)
	{
		KvExprNode *inner;

		Advance(p);
		if (!EnterNesting(p, 1))
			return NULL;
		inner = ParseArithOrOperand(p);
		if (inner == NULL)
			return NULL;
		LeaveNesting(p, 1);
		if (!Expect(p, TK_RPAREN))
			return NULL;
		if (inner->type == KVEXPR_NODE_PLUS || inner->type == KVEXPR_NODE_MINUS)
		{
			if (inner->parens)
				return RedundantParens(p);
			inner->parens = 1;
			return inner;
		}
		if (inner->parens)
			inner->flags |= KVEXPR_NODE_PENDING_REDUNDANT;
		inner->parens = 1;
		left = inner;
	}
	else
	{
		left = ParsePrimaryOperand(p);
		if (left == NULL)
			return NULL;
	}

	t = Tok(p);
	if (t->type != TK_PLUS && t->type != TK_MINUS)
		return left;
	if (left->flags & KVEXPR_NODE_PENDING_REDUNDANT)
		return RedundantParens(p);
	Advance(p);
	right = ParseOperand(p);
	if (right == NULL)
		return NULL;
	n = NodeWithArgs(p, t->type == TK_PLUS ? KVEXPR_NODE_PLUS : KVEXPR_NODE_MINUS,
					 t->start, 2, left, right, NULL);
	return n;
}

/*
 * ParseSetValue
 *		The right-hand side of a SET action.
 */
static KvExprNode *
ParseSetValue(Parser *p)
{
	KvExprNode *v = ParseArithOrOperand(p);
	KvTokType	t;

	if (v == NULL)
		return NULL;
	if (!(v->flags & KVEXPR_NODE_PENDING_REDUNDANT))
		return v;
	t = TokType(p);
	if (t == TK_COMMA || t == TK_SET || t == TK_ADD || t == TK_DELETE ||
		t == TK_REMOVE || t == TK_EOF)
		return RedundantParens(p);
	return SyntaxError(p);
}

/*
 * ParseTargetPath
 *		A path where nothing else may appear (update targets, projection).
 */
static bool
ParseTargetPath(Parser *p, KvExprPath *path)
{
	if (TokType(p) != TK_ID && TokType(p) != TK_NAME_SUB)
	{
		SyntaxError(p);
		return false;
	}
	return ParsePath(p, path);
}

/*
 * ParseUpdate
 *		One or more SET / REMOVE / ADD / DELETE sections, in any order.
 *		Repeated sections are syntactically fine; the tree walk rejects them.
 */
static bool
ParseUpdate(Parser *p, KvExpr *expr)
{
	int			cap = 4;
	int			n = 0;
	int			section = 0;
	KvExprUpdateAction *actions = KvExprArenaAlloc(p->arena,
												   sizeof(KvExprUpdateAction) * (size_t) cap);

	if (actions == NULL)
		return !Failed(p);

	for (;;)
	{
		KvTokType	t = TokType(p);
		KvExprUpdateActionType type;

		if (t == TK_SET)
			type = KVEXPR_UPDATE_SET;
		else if (t == TK_REMOVE)
			type = KVEXPR_UPDATE_REMOVE;
		else if (t == TK_ADD)
			type = KVEXPR_UPDATE_ADD;
		else if (t == TK_DELETE)
			type = KVEXPR_UPDATE_DELETE;
		else if (section > 0 && t == TK_EOF)
			break;
		else
		{
			SyntaxError(p);
			return false;
		}
		Advance(p);
		section++;

		for (;;)
		{
			KvExprUpdateAction *a;

			if (n == cap)
			{
				KvExprUpdateAction *na = KvExprArenaAlloc(p->arena,
														  sizeof(KvExprUpdateAction) * (size_t) cap * 2);

				if (na == NULL)
					return !Failed(p);
				memcpy(na, actions, sizeof(KvExprUpdateAction) * (size_t) n);
				actions = na;
				cap *= 2;
			}
			a = &actions[n];
			a->type = type;
			a->section = section;
			if (!ParseTargetPath(p, &a->path))
				return false;
			switch (type)
			{
				case KVEXPR_UPDATE_SET:
					if (!Expect(p, TK_EQ))
						return false;
					a->value = ParseSetValue(p);
					if (a->value == NULL)
						return false;
					break;
				case KVEXPR_UPDATE_ADD:
				case KVEXPR_UPDATE_DELETE:
					if (TokType(p) != TK_VALUE_SUB)
					{
						SyntaxError(p);
						return false;
					}
					a->value = ParsePrimaryOperand(p);
					if (a->value == NULL)
						return false;
					break;
				case KVEXPR_UPDATE_REMOVE:
					break;
			}
			n++;
			if (TokType(p) != TK_COMMA)
				break;
			Advance(p);
		}
	}
	expr->nactions = n;
	expr->actions = actions;
	return !Failed(p);
}

/*
 * ParseProjection
 *		path ( ',' path )*
 */
static bool
ParseProjection(Parser *p, KvExpr *expr)
{
	int			cap = 4;
	int			n = 0;
	KvExprPath *paths = KvExprArenaAlloc(p->arena, sizeof(KvExprPath) * (size_t) cap);

	if (paths == NULL)
		return !Failed(p);
	for (;;)
	{
		if (n == cap)
		{
			KvExprPath *np = KvExprArenaAlloc(p->arena, sizeof(KvExprPath) * (size_t) cap * 2);

			if (np == NULL)
				return !Failed(p);
			memcpy(np, paths, sizeof(KvExprPath) * (size_t) n);
			paths = np;
			cap *= 2;
		}
		if (!ParseTargetPath(p, &paths[n]))
			return false;
		n++;
		if (TokType(p) != TK_COMMA)
			break;
		Advance(p);
	}
	if (TokType(p) != TK_EOF)
	{
		SyntaxError(p);
		return false;
	}
	expr->npaths = n;
	expr->paths = paths;
	return true;
}

/*
 * KvExprParseText
 *		Parse one expression of es->kind; syntax checks only.  The caller has
 *		already checked emptiness and the size limit.
 */
bool
KvExprParseText(KvExprErrState *es, const char *text, int len, KvExpr **out)
{
	Parser		p;
	KvExpr	   *expr;

	memset(&p, 0, sizeof(p));
	p.es = es;
	p.arena = es->arena;
	p.text = text;
	p.len = len;
	p.ntoks = KvExprLex(es->arena, text, len, &p.toks);
	if (p.ntoks < 0)
		return !Failed(&p);

	expr = KvExprArenaAlloc(es->arena, sizeof(KvExpr));
	if (expr == NULL)
		return !Failed(&p);
	expr->kind = es->kind;

	switch (es->kind)
	{
		case KVEXPR_UPDATE:
			if (!ParseUpdate(&p, expr))
				return false;
			break;
		case KVEXPR_PROJECTION:
			if (!ParseProjection(&p, expr))
				return false;
			break;
		case KVEXPR_CONDITION:
		case KVEXPR_FILTER:
		case KVEXPR_KEY_CONDITION:
		default:
			expr->cond = ParseOr(&p, false);
			if (expr->cond == NULL)
				return false;
			if (TokType(&p) != TK_EOF)
			{
				SyntaxError(&p);
				return false;
			}
			break;
	}
	if (Failed(&p))
		return false;
	*out = expr;
	return true;
}
