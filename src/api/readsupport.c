/*-------------------------------------------------------------------------
 *
 * readsupport.c
 *	  The planner support function of partkv.query and partkv.scan: outside
 *	  FROM, a call becomes the call of the C function it wraps.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/supportnodes.h"
#include "optimizer/planmain.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"

#include "../common/partkv.h"


PG_FUNCTION_INFO_V1(partkv_read_support);

/*
 * KvRangeTableCalls tells whether a function item of rtable (a FROM-clause
 * function call) calls funcid.
 */
static bool
KvRangeTableCalls(List *rtable, Oid funcid)
{
	ListCell   *lc;

	foreach(lc, rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		ListCell   *fc;

		if (rte->rtekind != RTE_FUNCTION)
			continue;
		foreach(fc, rte->functions)
		{
			Node	   *expr = lfirst_node(RangeTblFunction, fc)->funcexpr;

			if (IsA(expr, FuncExpr) && ((FuncExpr *) expr)->funcid == funcid)
				return true;
		}
	}
	return false;
}

/*
 * partkv_read_support is the planner support function of partkv.query and
 * partkv.scan, SQL functions over partkv_internal.query_items and partkv_internal.scan_items.
 * In FROM they must stay SQL functions, which the planner inlines so that
 * they stream.  Anywhere else -- a select list, where the SQL function
 * executor would plan the body at every execution -- a call is simplified
 * into the call of the C function it wraps, as inlining would do: when the
 * caller may execute it, no fmgr hook wants to see it, and the plan is
 * made to depend on it.
 */
Datum
partkv_read_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);
	SupportRequestSimplify *req;
	FuncExpr   *call;
	FuncExpr   *direct;
	Oid		   *argtypes;
	int			nargs;
	Oid			target;
	char	   *name;

	if (!IsA(rawreq, SupportRequestSimplify))
		PG_RETURN_POINTER(NULL);
	req = (SupportRequestSimplify *) rawreq;
	call = req->fcall;
	if (req->root == NULL ||
		KvRangeTableCalls(req->root->parse->rtable, call->funcid) ||
		pg_proc_aclcheck(call->funcid, GetUserId(), ACL_EXECUTE) != ACLCHECK_OK ||
		FmgrHookIsNeeded(call->funcid))
		PG_RETURN_POINTER(NULL);

	get_func_signature(call->funcid, &argtypes, &nargs);
	name = psprintf("%s_items", get_func_name(call->funcid));
	target = LookupFuncName(list_make2(makeString(PARTKV_INTERNAL_SCHEMA),
									   makeString(name)),
							nargs, argtypes, true);
	if (!OidIsValid(target) || list_length(call->args) != nargs)
		PG_RETURN_POINTER(NULL);

	direct = makeFuncExpr(target, call->funcresulttype, call->args,
						  call->funccollid, call->inputcollid, COERCE_EXPLICIT_CALL);
	direct->funcretset = true;
	record_plan_function_dependency(req->root, call->funcid);
	PG_RETURN_POINTER(direct);
}
