user = alice
