HTTP/1.1 201 Created
Access-Control-Allow-Origin: *
Location: http://{webrtc-srv-name}:{http-port}/mavnotifyserver/notificationchannel/v1/{session-id:url}/channels/mavch{client-correlator:url}
Server: Portico
Content-Type: application/json
Content-Length: {content-length}
---body---
{"notificationChannel":{"applicationTag":"UAG","callbackURL":"http://{webrtc-srv-name:json}:{http-port:json}/mavnotifyserver/restapi/v1/{session-id:url:json}/channels/mavch{client-correlator:url:json}","channelData":{"channelURL":"ws://{webrtc-srv-name:json}:{websocket-port:json}/ws/channelCreateUrl/notificationchannel/v1/{session-id:url:json}/channels/mavch{client-correlator:url:json}/notifications","maxNotifications":1,"type":"WebSocketData"},"channelLifetime":3600,"channelType":"WebSockets","clientCorrelator":"{client-correlator:json}","resourceURL":"http://{webrtc-srv-name:json}:{http-port:json}/mavnotifyserver/notificationchannel/v1/{session-id:url:json}/channels/mavch{client-correlator:url:json}"}}
