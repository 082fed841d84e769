#include "conntrack.h"

#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netlink/msg.h>
#include <netlink/netfilter/nfnl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <string.h>
#include <sys/socket.h>

int conntrack_flush(bool v6, struct perr *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	if (!sk)
		return perr_code(err, ENOMEM, "conntrack: out of memory");
	int rc = nl_connect(sk, NETLINK_NETFILTER);
	for (int f = 0; rc >= 0 && f < (v6 ? 2 : 1); f++) {
		/* A delete without a tuple is a flush of the family's table. */
		struct nl_msg *m = nlmsg_alloc();
		if (!m) {
			nl_socket_free(sk);
			return perr_code(err, ENOMEM, "conntrack: out of memory");
		}
		rc = nfnlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, NFNL_SUBSYS_CTNETLINK,
				 IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK,
				 f ? AF_INET6 : AF_INET, 0);
		if (rc >= 0)
			rc = nl_send_auto(sk, m);
		nlmsg_free(m);
		if (rc >= 0)
			rc = nl_wait_for_ack(sk);
		if (rc == -NLE_OBJ_NOTFOUND)
			rc = 0; /* nothing tracked */
	}
	nl_socket_free(sk);
	if (rc < 0)
		return perr_code(err, EIO, "conntrack: flushing the connections made before the "
				 "fence: %s", nl_geterror(rc));
	return 0;
}
