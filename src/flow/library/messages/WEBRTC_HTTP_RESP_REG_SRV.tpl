HTTP/1.1 303 See Other
Access-Control-Allow-Origin: *
Location: http://{webrtc-srv-name}:{http-port}/wrcprohome.html?clientId={client-id:url}&sessionId={session-id:url}&nodeFqdn={webrtc-srv-name:url}
Server: Portico
Content-Length: {content-length}
