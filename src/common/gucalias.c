/*-------------------------------------------------------------------------
 *
 * gucalias.c
 *	  Deprecated names of renamed settings: the old name stays a setting
 *	  of its own whose value is forwarded to the new one.
 *
 * postgresql.conf files and ALTER SYSTEM written before a rename must not
 * break.  The old name is defined as a setting of the new one's type,
 * range, context and unit; its assign hook copies every value it takes
 * into the new setting's variable -- the one the code reads -- unless the
 * new name is set itself (its source is not the default).  So when both
 * are set the new name wins, whichever comes first in the file: set first,
 * the new name makes the old one's later value ignored; set second, it
 * overwrites what the old one forwarded.  On a reload PostgreSQL resets the
 * settings removed from the file before it applies the file, so an old
 * name still in the file takes over again once the new one is removed.
 * pg_settings shows the forwarded value under the new name, with source
 * "default".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"
#include "utils/guc_tables.h"

#include "gucalias.h"

#define KV_MAX_GUC_ALIASES 8

typedef struct KvGucAlias
{
	struct config_generic *target;	/* the new name's setting */
	int			int_value;		/* the old name's own variable */
	bool		bool_value;
} KvGucAlias;

static KvGucAlias kv_aliases[KV_MAX_GUC_ALIASES];
static int	kv_naliases = 0;

/*
 * KvGucAliasForward gives alias i's new value to the new name's variable,
 * unless the new name is set itself.
 */
static void
KvGucAliasForward(int i, int value)
{
	struct config_generic *target = kv_aliases[i].target;

	if (target->source != PGC_S_DEFAULT)
		return;
	if (target->vartype == PGC_INT)
		*((struct config_int *) target)->variable = value;
	else if (target->vartype == PGC_BOOL)
		*((struct config_bool *) target)->variable = (value != 0);
}

/*
 * An assign hook is told the value, not the setting: one hook per alias
 * slot says which alias it serves.
 */
#define KV_ALIAS_HOOKS(i) \
static void \
KvGucAliasInt##i(int newval, void *extra) \
{ \
	KvGucAliasForward(i, newval); \
} \
static void \
KvGucAliasBool##i(bool newval, void *extra) \
{ \
	KvGucAliasForward(i, (int) newval); \
}

KV_ALIAS_HOOKS(0)
KV_ALIAS_HOOKS(1)
KV_ALIAS_HOOKS(2)
KV_ALIAS_HOOKS(3)
KV_ALIAS_HOOKS(4)
KV_ALIAS_HOOKS(5)
KV_ALIAS_HOOKS(6)
KV_ALIAS_HOOKS(7)

static const GucIntAssignHook kv_alias_int_hooks[KV_MAX_GUC_ALIASES] = {
	KvGucAliasInt0, KvGucAliasInt1, KvGucAliasInt2, KvGucAliasInt3,
	KvGucAliasInt4, KvGucAliasInt5, KvGucAliasInt6, KvGucAliasInt7
};
static const GucBoolAssignHook kv_alias_bool_hooks[KV_MAX_GUC_ALIASES] = {
	KvGucAliasBool0, KvGucAliasBool1, KvGucAliasBool2, KvGucAliasBool3,
	KvGucAliasBool4, KvGucAliasBool5, KvGucAliasBool6, KvGucAliasBool7
};

/* KvFindGuc finds a defined setting by name. */
static struct config_generic *
KvFindGuc(const char *name)
{
	struct config_generic **vars = get_guc_variables();
	int			n = GetNumConfigOptions();

	for (int i = 0; i < n; i++)
		if (strcmp(vars[i]->name, name) == 0)
			return vars[i];
	elog(ERROR, "partkv: setting \"%s\" is not defined", name);
	return NULL;				/* keep the compiler quiet */
}

/* KvDefineGucAlias: see gucalias.h and the file header. */
void
KvDefineGucAlias(const char *old_name, const char *new_name)
{
	int			i = kv_naliases;
	struct config_generic *target = KvFindGuc(new_name);
	char	   *short_desc;
	char	   *long_desc;
	int			flags;

	if (i >= KV_MAX_GUC_ALIASES)
		elog(ERROR, "partkv: too many deprecated setting names");
	kv_aliases[i].target = target;
	kv_naliases++;
	short_desc = psprintf("Deprecated name of %s.", new_name);
	long_desc = psprintf("Its value is used while %s is not set.", new_name);
	flags = (target->flags & GUC_UNIT) | GUC_NOT_IN_SAMPLE;

	if (target->vartype == PGC_INT)
	{
		struct config_int *t = (struct config_int *) target;

		DefineCustomIntVariable(old_name, short_desc, long_desc,
								&kv_aliases[i].int_value, t->boot_val, t->min, t->max,
								target->context, flags, NULL, kv_alias_int_hooks[i], NULL);
	}
	else if (target->vartype == PGC_BOOL)
	{
		struct config_bool *t = (struct config_bool *) target;

		DefineCustomBoolVariable(old_name, short_desc, long_desc,
								 &kv_aliases[i].bool_value, t->boot_val,
								 target->context, flags, NULL, kv_alias_bool_hooks[i], NULL);
	}
	else
		elog(ERROR, "partkv: setting \"%s\" is neither an integer nor a boolean", new_name);
}
