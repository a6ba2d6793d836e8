/*
 * edge_acl: the two access rules Mosquitto 2.0's acl_file cannot express (edge/security/broker_plugin.py says why).
 *
 *   share USER PATTERN   USER may subscribe to a shared subscription "$share/GROUP/FILTER" that PATTERN covers
 *                        ('+' covers one level, '#' the rest; a '+' or '#' in the subscription only by the same).
 *                        Every other "$share/..." subscription is refused (SUBACK "not authorized").
 *   retain PATTERN       a retained PUBLISH (or will) is allowed on a topic PATTERN matches; every other retained
 *                        PUBLISH is refused (PUBACK "not authorized") and the broker keeps nothing.
 *
 * Anything else is deferred to the acl_file, which decides who may publish and read each topic. The rules come
 * from the file named by `plugin_opt_rules`, read at start (the broker does not start when it is unreadable)
 * and again on every reload (SIGHUP); a file that cannot be read at a reload leaves the previous rules in force.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#define MAX_LINE 1024

struct rule {
	char *user; /* NULL for a retain rule */
	char *pattern;
};

struct rules {
	struct rule *items;
	size_t count;
};

static mosquitto_plugin_id_t *plugin_id = NULL;
static char *rules_path = NULL;
static struct rules active = {NULL, 0};
static unsigned long refusals = 0;
static time_t refusal_logged = 0;

/* One log line per refusal would let a client fill the broker's log (3,000 retained publishes, 3,000 lines):
 * count them all, log at most one line a minute with the count. */
static void note_refusal(const char *what, const char *topic, const struct mosquitto *client)
{
	const char *user = mosquitto_client_username(client);
	time_t now = time(NULL);
	refusals++;
	if(refusal_logged != 0 && now - refusal_logged < 60) return;
	refusal_logged = now;
	mosquitto_log_printf(MOSQ_LOG_NOTICE, "edge_acl: refused %s %s from %s (%lu refusals since the start)", what,
			topic, user ? user : "(no identity)", refusals);
}

static void rules_free(struct rules *r)
{
	for(size_t i = 0; i < r->count; i++){
		free(r->items[i].user);
		free(r->items[i].pattern);
	}
	free(r->items);
	r->items = NULL;
	r->count = 0;
}

/* Whether `pattern` covers `sub` level by level ('#' ends the pattern; '+' is one level of anything but '#'). */
static bool covers(const char *pattern, const char *sub)
{
	for(;;){
		size_t plen = strcspn(pattern, "/");
		size_t slen = strcspn(sub, "/");
		if(plen == 1 && pattern[0] == '#'){
			return true;
		}
		if(plen == 1 && pattern[0] == '+'){
			if(slen == 1 && sub[0] == '#') return false;
		}else if(plen != slen || strncmp(pattern, sub, plen) != 0){
			return false;
		}
		bool pend = pattern[plen] == '\0';
		bool send = sub[slen] == '\0';
		if(pend || send){
			/* "a/#" also covers "a" (MQTT: '#' includes the parent level) */
			return (pend && send) || (send && strcmp(pattern + plen, "/#") == 0);
		}
		pattern += plen + 1;
		sub += slen + 1;
	}
}

static int rules_read(const char *path, struct rules *out)
{
	FILE *f = fopen(path, "r");
	if(f == NULL){
		mosquitto_log_printf(MOSQ_LOG_ERR, "edge_acl: cannot read %s: %s", path, strerror(errno));
		return MOSQ_ERR_UNKNOWN;
	}
	char line[MAX_LINE];
	int lineno = 0;
	int rc = MOSQ_ERR_SUCCESS;
	struct rules r = {NULL, 0};
	while(fgets(line, sizeof(line), f)){
		lineno++;
		char *save = NULL;
		char *kind = strtok_r(line, " \t\r\n", &save);
		if(kind == NULL || kind[0] == '#') continue;
		char *a = strtok_r(NULL, " \t\r\n", &save);
		char *b = strtok_r(NULL, " \t\r\n", &save);
		char *extra = strtok_r(NULL, " \t\r\n", &save);
		bool share = strcmp(kind, "share") == 0;
		bool retain = strcmp(kind, "retain") == 0;
		if(extra != NULL || (share && b == NULL) || (retain && (a == NULL || b != NULL)) || (!share && !retain)){
			mosquitto_log_printf(MOSQ_LOG_ERR, "edge_acl: %s line %d is not 'share USER PATTERN' or 'retain PATTERN'",
					path, lineno);
			rc = MOSQ_ERR_INVAL;
			break;
		}
		struct rule *grown = realloc(r.items, (r.count + 1) * sizeof(*grown));
		if(grown == NULL){
			rc = MOSQ_ERR_NOMEM;
			break;
		}
		r.items = grown;
		r.items[r.count].user = share ? strdup(a) : NULL;
		r.items[r.count].pattern = strdup(share ? b : a);
		r.count++;
		if(r.items[r.count - 1].pattern == NULL || (share && r.items[r.count - 1].user == NULL)){
			rc = MOSQ_ERR_NOMEM;
			break;
		}
	}
	fclose(f);
	if(rc != MOSQ_ERR_SUCCESS){
		rules_free(&r);
		return rc;
	}
	rules_free(out);
	*out = r;
	mosquitto_log_printf(MOSQ_LOG_INFO, "edge_acl: %zu rules from %s", r.count, path);
	return MOSQ_ERR_SUCCESS;
}

static int on_acl_check(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *ed = event_data;
	(void)event;
	(void)userdata;

	if(ed->access == MOSQ_ACL_SUBSCRIBE && strncmp(ed->topic, "$share/", 7) == 0){
		const char *user = mosquitto_client_username(ed->client);
		for(size_t i = 0; user != NULL && i < active.count; i++){
			struct rule *r = &active.items[i];
			if(r->user != NULL && strcmp(r->user, user) == 0 && covers(r->pattern, ed->topic)){
				return MOSQ_ERR_PLUGIN_DEFER; /* and the acl_file's read rules still apply to each message */
			}
		}
		note_refusal("shared subscription", ed->topic, ed->client);
		return MOSQ_ERR_ACL_DENIED;
	}
	if(ed->access == MOSQ_ACL_WRITE && ed->retain){
		for(size_t i = 0; i < active.count; i++){
			if(active.items[i].user == NULL && covers(active.items[i].pattern, ed->topic)){
				return MOSQ_ERR_PLUGIN_DEFER;
			}
		}
		note_refusal("retained publish on", ed->topic, ed->client);
		return MOSQ_ERR_ACL_DENIED;
	}
	return MOSQ_ERR_PLUGIN_DEFER;
}

static int on_reload(int event, void *event_data, void *userdata)
{
	(void)event;
	(void)event_data;
	(void)userdata;
	if(rules_read(rules_path, &active) != MOSQ_ERR_SUCCESS){
		mosquitto_log_printf(MOSQ_LOG_ERR, "edge_acl: keeping the previous %zu rules", active.count);
	}
	return MOSQ_ERR_PLUGIN_DEFER; /* let the broker reload everything else */
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	for(int i = 0; i < supported_version_count; i++){
		if(supported_versions[i] == 5) return 5;
	}
	return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata, struct mosquitto_opt *options,
		int option_count)
{
	*userdata = NULL;
	plugin_id = identifier;
	for(int i = 0; i < option_count; i++){
		if(strcmp(options[i].key, "rules") == 0){
			free(rules_path);
			rules_path = strdup(options[i].value);
		}
	}
	if(rules_path == NULL){
		mosquitto_log_printf(MOSQ_LOG_ERR, "edge_acl: plugin_opt_rules is not set");
		return MOSQ_ERR_INVAL;
	}
	int rc = rules_read(rules_path, &active);
	if(rc != MOSQ_ERR_SUCCESS) return rc;
	rc = mosquitto_callback_register(plugin_id, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL, NULL);
	if(rc != MOSQ_ERR_SUCCESS) return rc;
	return mosquitto_callback_register(plugin_id, MOSQ_EVT_RELOAD, on_reload, NULL, NULL);
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
	(void)userdata;
	(void)options;
	(void)option_count;
	if(plugin_id != NULL){
		mosquitto_callback_unregister(plugin_id, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL);
		mosquitto_callback_unregister(plugin_id, MOSQ_EVT_RELOAD, on_reload, NULL);
	}
	rules_free(&active);
	free(rules_path);
	rules_path = NULL;
	return MOSQ_ERR_SUCCESS;
}
