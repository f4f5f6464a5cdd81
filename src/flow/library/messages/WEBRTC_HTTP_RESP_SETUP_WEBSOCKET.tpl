HTTP/1.1 101 Switching Protocols
Upgrade: websocket
Connection: Upgrade
Sec-WebSocket-Accept: {websocket-accept}
Sec-WebSocket-Protocol: notificationchannel-netapi-rest.openmobilealliance.org
Server: Portico
