HTTP/1.1 201 Created
Access-Control-Allow-Origin: *
Location: http://{webrtc-srv-name}:{http-port}/chat/chat/v1/{session-id:url}/subscriptions/{chat-subscription-id:url}
Server: Portico
Content-Type: application/json
Content-Length: {content-length}
---body---
{"chatNotificationSubscription":{"callbackReference":{"notifyURL":"{callback-url:json}","callbackData":"chat","notificationFormat":"JSON"},"duration":650,"clientCorrelator":"{client-correlator:json}","resourceURL":"http://{webrtc-srv-name:json}:{http-port:json}/chat/chat/v1/{session-id:url:json}/subscriptions/{chat-subscription-id:url:json}"}}
