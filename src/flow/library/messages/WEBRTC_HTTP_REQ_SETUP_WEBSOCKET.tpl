GET {websocket-url} HTTP/1.1
Host: {webrtc-srv-name}:{websocket-port}
Connection: Upgrade
Upgrade: websocket
Sec-WebSocket-Version: 13
Sec-WebSocket-Key: {websocket-key}
Sec-WebSocket-Protocol: notificationchannel-netapi-rest.openmobilealliance.org
Origin: http://{webrtc-srv-name}:{http-port}
User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/78.0.3904.97 Safari/537.36
