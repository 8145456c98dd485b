#!/usr/bin/python3
"""A real SMTP server on loopback for the tests (aiosmtpd, Debian's
python3-aiosmtpd): EHLO, STARTTLS when given a certificate, AUTH PLAIN and
LOGIN when given credentials, MAIL/RCPT/DATA. Each message it accepts is
written to DIR as NNNNNN.eml, its envelope in NNNNNN.json beside it.

What a recipient's local part makes it answer at RCPT:
  refuse...   550 5.1.1 <addr>: Recipient address rejected
  busy...     451 4.3.0 <addr>: Try again later
anything else is accepted.

usage: smtp_sink.py PORT DIR [--tls CERT KEY] [--auth USER:PASSWORD]
"""

import asyncio
import json
import logging
import os
import signal
import ssl
import sys
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, options):
        local = address.split('@')[0].lower()
        if local.startswith('refuse'):
            return '550 5.1.1 <%s>: Recipient address rejected' % address
        if local.startswith('busy'):
            return '451 4.3.0 <%s>: Try again later' % address
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.directory, '%06d-%d' % (self.count,
                                                         os.getpid()))
        with open(base + '.eml.tmp', 'wb') as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + '.json', 'w') as f:
            json.dump({'mail_from': envelope.mail_from,
                       'rcpt_tos': envelope.rcpt_tos,
                       'tls': session.ssl is not None,
                       'auth': session.authenticated}, f)
        os.rename(base + '.eml.tmp', base + '.eml')
        return '250 2.0.0 Message accepted'


def main():
    # the tests' AUTH without TLS is on purpose: no warnings about it
    warnings.simplefilter('ignore')
    logging.disable(logging.WARNING)
    port = int(sys.argv[1])
    directory = sys.argv[2]
    args = sys.argv[3:]
    tls = None
    creds = None
    while args:
        if args[0] == '--tls':
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(args[1], args[2])
            args = args[3:]
        elif args[0] == '--auth':
            creds = args[1].encode().split(b':', 1)
            args = args[2:]
        else:
            sys.exit('unknown argument ' + args[0])

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and [auth_data.login, auth_data.password] == creds)
        return AuthResult(success=ok)

    kwargs = {}
    if tls:
        kwargs['tls_context'] = tls
        kwargs['require_starttls'] = False
    if creds:
        kwargs['authenticator'] = authenticator
        kwargs['auth_require_tls'] = tls is not None
        kwargs['auth_required'] = True

    controller = Controller(Sink(directory), hostname='127.0.0.1', port=port,
                            decode_data=False, **kwargs)
    controller.start()

    loop = asyncio.new_event_loop()
    done = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    print('ready', flush=True)
    loop.run_until_complete(done.wait())
    controller.stop()


if __name__ == '__main__':
    main()
