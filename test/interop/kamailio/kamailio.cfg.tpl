#!KAMAILIO
#
# Registrar and stateful proxy for Portico's interop tests, rendered by
# test/interop/peers/kamailio.ts into a temp directory, which fills in every placeholder
# written between double percent signs; optional parts are switched by #!define lines.
#
# Loopback only, ephemeral ports, no database: usrloc keeps bindings in memory (db_mode 0) and
# the users' passwords live in an htable filled at start-up.
#
#   REGISTER               digest authentication (401, realm = To domain), then save("location")
#   INVITE/MESSAGE/...     from a known user (From user in the users table): digest (407, realm = From
#                          domain); from anyone else: no authentication (a trunk, a test peer)
#   to one of our users    lookup("location") → t_relay to the registered contact(s), forking in parallel
#   to a foreign host      t_relay to the Request-URI
#   in-dialog              loose_route (INVITE dialogs are record-routed)
#   OPTIONS to us          200 (used as the readiness probe)
#   WebSocket (RFC 7118)   xhttp handshake on the ws/wss ports; WS clients are reached through
#                          their connection (fix_nated_register / set_contact_alias)

%%DEFINES%%

####### Global parameters #########
debug=%%LOG_LEVEL%%
log_stderror=yes
fork=yes
children=%%CHILDREN%%
tcp_children=%%CHILDREN%%
auto_aliases=no
dns=no
rev_dns=no
use_dns_cache=off
dns_try_ipv6=no
disable_sctp=yes
mpath="%%MODULE_PATH%%"
server_header="Server: Kamailio (Portico interop)"
user_agent_header="User-Agent: Kamailio (Portico interop)"

listen=udp:127.0.0.1:%%UDP_PORT%%
listen=tcp:127.0.0.1:%%TCP_PORT%%
#!ifdef WITH_WS
listen=tcp:127.0.0.1:%%WS_PORT%%
#!endif
#!ifdef WITH_TLS
enable_tls=yes
listen=tls:127.0.0.1:%%TLS_PORT%%
#!ifdef WITH_WS
listen=tls:127.0.0.1:%%WSS_PORT%%
#!endif
#!endif
%%ALIASES%%

# HTTP requests (the WebSocket handshake) carry no Content-Length.
tcp_accept_no_cl=yes
tcp_connection_lifetime=3605

####### Modules #########
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "ctl.so"
loadmodule "htable.so"
loadmodule "auth.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "nathelper.so"
#!ifdef WITH_TLS
loadmodule "tls.so"
#!endif
#!ifdef WITH_WS
loadmodule "xhttp.so"
loadmodule "websocket.so"
#!endif

modparam("ctl", "binrpc", "unix:%%CTL_SOCKET%%")

modparam("tm", "fr_timer", %%FR_TIMER%%)
modparam("tm", "fr_inv_timer", %%FR_INV_TIMER%%)

modparam("rr", "append_fromtag", 1)

modparam("usrloc", "db_mode", 0)
modparam("usrloc", "hash_size", 12)
modparam("usrloc", "timer_interval", 1)

modparam("registrar", "min_expires", %%MIN_EXPIRES%%)
modparam("registrar", "max_expires", %%MAX_EXPIRES%%)
modparam("registrar", "default_expires", 3600)
modparam("registrar", "max_contacts", 0)
# Where fix_nated_register() keeps the source address of a REGISTER; lookup() then sends there.
modparam("nathelper|registrar", "received_avp", "$avp(received)")

modparam("htable", "htable", "users=>size=8;")

#!ifdef WITH_TLS
modparam("tls", "private_key", "%%TLS_KEY%%")
modparam("tls", "certificate", "%%TLS_CERT%%")
modparam("tls", "tls_method", "TLSv1.2+")
modparam("tls", "verify_certificate", 0)
modparam("tls", "require_certificate", 0)
#!endif

#!ifdef WITH_WS
modparam("websocket", "keepalive_mechanism", 0)
#!endif

####### Users #########
event_route[htable:mod-init] {
%%USERS%%
}

####### Routing logic #########
request_route {
	route(REQINIT);
	route(WEBSOCKET);

	if (is_method("CANCEL")) {
		if (t_check_trans()) {
			route(RELAY);
		}
		exit;
	}

	# Retransmissions of requests already being handled: let tm absorb or resend (RFC 3261 §17.2).
	if (!is_method("ACK")) {
		if (t_precheck_trans()) {
			t_check_trans();
			exit;
		}
		t_check_trans();
	}

	route(WITHINDLG);

	remove_hf("Route");
	if (is_method("INVITE|SUBSCRIBE")) {
		record_route();
	}

	if (is_method("REGISTER")) {
		route(REGISTRAR);
	}

	if (is_method("OPTIONS") && uri==myself && $rU==$null) {
		sl_send_reply("200", "OK");
		exit;
	}

	route(AUTH);

	if (uri==myself) {
		if ($rU==$null) {
			sl_send_reply("484", "Address Incomplete");
			exit;
		}
		route(LOCATION);
	}
	route(RELAY);
}

route[REQINIT] {
	xlog("L_INFO", "$rm $ru from $proto:$si:$sp ($ci)\n");
	force_rport();
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	if (!sanity_check()) {
		xlog("L_WARN", "malformed $rm from $proto:$si:$sp\n");
		exit;
	}
}

# SIP over WebSocket (RFC 7118): contacts are unroutable (.invalid), so requests for a WS client go
# back over the connection it used.
route[WEBSOCKET] {
#!ifdef ALIAS_ALL_STREAMS
	if (proto==WS || proto==WSS || proto==TCP || proto==TLS) {
#!else
	if (proto==WS || proto==WSS) {
#!endif
		if (!is_method("REGISTER") && is_present_hf("Contact")) {
			set_contact_alias();
		}
	}
}

route[RELAY] {
	if (is_method("INVITE|SUBSCRIBE|UPDATE")) {
		if (!t_is_set("onreply_route")) {
			t_on_reply("MANAGE_REPLY");
		}
	}
	if (!t_relay()) {
		sl_reply_error();
	}
	exit;
}

route[WITHINDLG] {
	if (!has_totag()) {
		return;
	}
	if (loose_route()) {
		# A Request-URI carrying ;alias= (a WS client's Contact) names the connection to use.
		if (!isdsturiset()) {
			handle_ruri_alias();
		}
		route(RELAY);
		exit;
	}
	if (is_method("ACK")) {
		if (t_check_trans()) {
			route(RELAY);
		}
		exit;
	}
	sl_send_reply("404", "Not here");
	exit;
}

route[REGISTRAR] {
#!ifdef WITH_REGISTER_AUTH
	$var(realm) = %%REGISTER_REALM%%;
	route(CHECK_CREDENTIALS);
#!endif
#!ifdef ALIAS_ALL_STREAMS
	if (proto==WS || proto==WSS || proto==TCP || proto==TLS) {
#!else
	if (proto==WS || proto==WSS) {
#!endif
		fix_nated_register();
	}
	if (!save("location")) {
		sl_reply_error();
	}
	exit;
}

# Requests (not REGISTER) from a known user must be authenticated (RFC 3261 §22.3, 407).
route[AUTH] {
#!ifdef WITH_REQUEST_AUTH
	if (!is_method("INVITE|MESSAGE|SUBSCRIBE|REFER|PUBLISH|NOTIFY|INFO|OPTIONS")) {
		return;
	}
#!ifndef ANY_PASSWORD
	if ($sht(users=>$fU) == $null) {
		return;
	}
#!endif
	$var(realm) = %%REQUEST_REALM%%;
	route(CHECK_CREDENTIALS);
#!endif
	return;
}

# Digest check against the users table: the authentication user must be the From user (To user for
# REGISTER). Success consumes the credentials; otherwise challenge (or 403 when configured so).
route[CHECK_CREDENTIALS] {
	if ($au == $null) {
		auth_challenge("$var(realm)", "1");
		exit;
	}
	$var(password) = "";
	if ($sht(users=>$au) != $null) {
		$var(password) = $sht(users=>$au);
	}
#!ifdef ANY_PASSWORD
	else {
		$var(password) = ANY_PASSWORD;
	}
#!endif
	$var(rc) = pv_auth_check("$var(realm)", "$var(password)", "0", "1");
	if ($var(rc) == 1) {
		consume_credentials();
		return;
	}
	xlog("L_INFO", "auth of $rm from $fU as '$au' failed: $var(rc)\n");
#!ifdef FORBID_BAD_CREDENTIALS
	if ($var(rc) != -4 && $var(rc) != -6) {
		sl_send_reply("403", "Forbidden");
		exit;
	}
#!endif
	auth_challenge("$var(realm)", "1");
	exit;
}

route[LOCATION] {
	if (!lookup("location")) {
		$var(rc) = $rc;
		t_newtran();
		switch ($var(rc)) {
			case -1:
			case -3:
				t_reply("404", "Not Found");
				exit;
			case -2:
				t_reply("405", "Method Not Allowed");
				exit;
		}
	}
}

onreply_route[MANAGE_REPLY] {
#!ifdef ALIAS_ALL_STREAMS
	if (proto==WS || proto==WSS || proto==TCP || proto==TLS) {
#!else
	if (proto==WS || proto==WSS) {
#!endif
		if (is_present_hf("Contact")) {
			set_contact_alias();
		}
	}
}

#!ifdef WITH_WS
event_route[xhttp:request] {
	set_reply_close();
	set_reply_no_connect();
	if ($Rp != %%WS_PORT%% && $Rp != %%WSS_PORT%%) {
		xhttp_reply("403", "Forbidden", "", "");
		exit;
	}
	if ($hdr(Upgrade) =~ "websocket" && $hdr(Connection) =~ "Upgrade" && $rm =~ "GET") {
		if (ws_handle_handshake()) {
			exit;
		}
	}
	xhttp_reply("404", "Not Found", "", "");
}
#!endif
